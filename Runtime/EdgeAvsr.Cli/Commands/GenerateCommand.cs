using System.CommandLine;

namespace EdgeAvsr.Cli.Commands;

/// <summary><c>edgeavsr generate</c>: text from a text prompt with the llama.cpp decoder; tokens print as they come.</summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var prompt = new Option<string>("--prompt") { Description = "Prompt text (BOS is added)", Required = true };
        var command = new Command("generate", "Generate text from a text prompt with the llama.cpp decoder; tokens print as they come");
        var options = new Option[]
        {
            DecodeCommand.Model, prompt, DecodeCommand.MaxTokens, DecodeCommand.Beams, DecodeCommand.Threads, DecodeCommand.ThreadPolicy,
            DecodeCommand.Exact, DecodeCommand.Backend, DecodeCommand.LogitsOut,
        };
        foreach (var o in options)
        {
            command.Options.Add(o);
        }
        CommandActions.Set(command, parse => DecodeCommand.RunAndPrint(parse, new DecodeRequest
        {
            ModelPath = parse.GetValue(DecodeCommand.Model)!,
            PromptText = parse.GetValue(prompt)!,
        }));
        return command;
    }
}
