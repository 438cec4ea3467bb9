using System.Globalization;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using Xunit.Abstractions;

namespace EdgeAvsr.Serve.Tests;

/// <summary>
/// The kiosk page in Debian's chromium (headless, through chromium-driver and Selenium) against a live daemon process
/// whose replay producer the test feeds through a FIFO, so the latency bound measures the page and not a model.
/// </summary>
[Collection("daemon")]
public sealed class KioskPageTests(ITestOutputHelper output)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string ChromeDriver = "/usr/bin/chromedriver";
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    /// <summary>Runs only where Debian's chromium and chromium-driver are installed; elsewhere skipped with the reason.</summary>
    public sealed class ChromiumFactAttribute : FactAttribute
    {
        public ChromiumFactAttribute()
        {
            if (!File.Exists(Chromium) || !File.Exists(ChromeDriver))
            {
                Skip = $"no {Chromium} or {ChromeDriver} (apt-get install chromium chromium-driver; ./build.sh test installs them)";
            }
        }
    }

    // Records when each caption text first shows up in the DOM, and as what (partial or final), by the browser's clock.
    private const string ObserverScript = """
        window.__seen = [];
        var seen = {};
        function scan() {
          document.querySelectorAll('#captions p').forEach(function (p) {
            var k = p.className + '|' + p.textContent;
            if (!seen[k]) { seen[k] = true; window.__seen.push({ cls: p.className, text: p.textContent, t: Date.now() }); }
          });
        }
        new MutationObserver(scan).observe(document.getElementById('captions'), { subtree: true, childList: true, characterData: true });
        scan();
        """;

    private static ChromeDriver StartBrowser()
    {
        var options = new ChromeOptions { BinaryLocation = Chromium };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,720");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromeDriver)!, Path.GetFileName(ChromeDriver));
        service.SuppressInitialDiagnosticInformation = true;
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(90));
    }

    private static T Until<T>(Func<T?> probe, string what)
    {
        var until = DateTime.UtcNow + s_wait;
        while (true)
        {
            if (probe() is { } value)
            {
                return value;
            }
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"the page did not show {what} within {s_wait.TotalSeconds} s");
            }
            Thread.Sleep(20);
        }
    }

    // Browser clock time at which TEXT first appeared as CLS, or null.
    private static long? SeenAt(IJavaScriptExecutor js, string cls, string text) =>
        js.ExecuteScript("var cls = arguments[0], text = arguments[1];"
            + " var m = window.__seen.filter(function (s) { return s.cls === cls && s.text === text; });"
            + " return m.length ? m[0].t : null;", cls, text) is { } t ? Convert.ToInt64(t, CultureInfo.InvariantCulture) : null;

    private static List<(string Class, string Text)> Paragraphs(IWebDriver driver) =>
        [.. driver.FindElements(By.CssSelector("#captions p")).Select(p => (p.GetAttribute("class") ?? "", p.Text))];

    private static string ConnectionState(IWebDriver driver) => driver.FindElement(By.Id("connection")).GetAttribute("data-state") ?? "";

    [ChromiumFact]
    public async Task Captions_reach_the_page_within_a_second_partials_are_replaced_and_a_restart_reconnects_with_history()
    {
        using var dir = new TempDir();
        using var fifo = new ReplayFifo(dir.File("captions.fifo"));
        int port = DaemonProcess.FreePort();
        string[] args = ["--replay", fifo.Path, "--journal", dir.File("journal.jsonl")];
        var daemon = DaemonProcess.Start(port, args);
        try
        {
            await daemon.WaitListeningAsync();
            using var driver = StartBrowser();
            var js = (IJavaScriptExecutor)driver;
            driver.Navigate().GoToUrl(daemon.BaseUri);
            Until(() => ConnectionState(driver) == "open" ? "" : null, "the connection open");
            js.ExecuteScript(ObserverScript);

            // A partial, growing in place, then its final: never two paragraphs for one utterance.
            var latencies = new List<long>();
            foreach (string text in (string[])["the quick", "the quick brown"])
            {
                long written = await fifo.WriteAsync(ReplayFifo.Caption(1, false, text));
                latencies.Add(Until(() => SeenAt(js, "partial", text), $"the partial '{text}'")!.Value - written);
                Assert.Equal([("partial", text)], Paragraphs(driver));
            }
            long finalWritten = await fifo.WriteAsync(ReplayFifo.Caption(1, true, "the quick brown fox"));
            latencies.Add(Until(() => SeenAt(js, "final", "the quick brown fox"), "the final")!.Value - finalWritten);
            Assert.Equal([("final", "the quick brown fox")], Paragraphs(driver));
            await fifo.WriteAsync(ReplayFifo.Caption(2, false, "jumps"), ReplayFifo.Caption(2, true, "jumps over"), "{\"live\":[\"audio\"]}");
            Until(() => SeenAt(js, "final", "jumps over"), "the second final");
            Until(() => driver.FindElement(By.Id("mod-video")).GetAttribute("data-live") == "false" ? "" : null, "video no longer live");
            Assert.Equal("true", driver.FindElement(By.Id("mod-audio")).GetAttribute("data-live"));
            output.WriteLine($"write-to-DOM latencies (ms): {string.Join(", ", latencies)}");
            Assert.All(latencies, ms => Assert.InRange(ms, 0, 1000));

            // A crash: the page notices, then reconnects by itself to the restarted daemon and resumes from the journal.
            daemon.KillHard();
            daemon.Dispose();
            fifo.Reopen();
            Until(() => ConnectionState(driver) != "open" ? "" : null, "the connection lost");
            daemon = DaemonProcess.Start(port, args);
            await daemon.WaitListeningAsync();
            Until(() => ConnectionState(driver) == "open" ? "" : null, "the connection open again");
            await fifo.WriteAsync(ReplayFifo.Caption(1, false, "after"), ReplayFifo.Caption(1, true, "after the restart"));
            Until(() => SeenAt(js, "final", "after the restart"), "the final after the restart");
            string[] finals = ["the quick brown fox", "jumps over", "after the restart"];
            Assert.Equal(finals.Select(f => ("final", f)), Paragraphs(driver));

            // A fresh page load shows the history, each final once, with the look the viewer chose.
            driver.FindElement(By.Id("theme")).Click();
            driver.FindElement(By.Id("larger")).Click();
            driver.Navigate().Refresh();
            Until(() => Paragraphs(driver).Count == finals.Length ? "" : null, "the history");
            Assert.Equal(finals.Select(f => ("final", f)), Paragraphs(driver));
            Assert.Equal("light", driver.FindElement(By.TagName("html")).GetAttribute("data-theme"));
            Assert.Equal("50px", js.ExecuteScript("return document.documentElement.style.getPropertyValue('--size');"));

            string shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(shots);
            string png = Path.Combine(shots, "kiosk.png");
            ((ITakesScreenshot)driver).GetScreenshot().SaveAsFile(png);
            Assert.True(new FileInfo(png).Length > 1000);
            output.WriteLine($"screenshot: {png}");
        }
        finally
        {
            daemon.Dispose();
        }
    }
}
