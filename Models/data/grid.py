"""The GRID corpus grammar (Cooke et al. 2006), exactly: command colour preposition letter digit adverb.

64,000 sentences over 51 words; transcripts are lower case with letters as single letters
("place blue at f two now"). split_sentences() holds out a seeded 10% that is never trained on.
"""
import itertools

import numpy as np

COMMANDS = ["bin", "lay", "place", "set"]
COLOURS = ["blue", "green", "red", "white"]
PREPOSITIONS = ["at", "by", "in", "with"]
LETTERS = [c for c in "abcdefghijklmnopqrstuvwxyz" if c != "w"]
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
ADVERBS = ["again", "now", "please", "soon"]
SLOTS = [COMMANDS, COLOURS, PREPOSITIONS, LETTERS, DIGITS, ADVERBS]
WORDS = sorted({w for slot in SLOTS for w in slot})  # the 51 words
# What espeak-ng is given for a letter: its English letter name is read for every letter but "a",
# which espeak takes for the article; "eigh" makes it say the letter's name.
SPOKEN = {"a": "eigh"}


def all_sentences():
    return [" ".join(words) for words in itertools.product(*SLOTS)]


def split_sentences(seed=15, held_out=0.10):
    """-> (train sentences, held-out sentences), a seeded 90/10 split of the 64,000."""
    sentences = all_sentences()
    order = np.random.default_rng(seed).permutation(len(sentences))
    n_test = int(round(len(sentences) * held_out))
    test = sorted(sentences[i] for i in order[:n_test])
    train = sorted(sentences[i] for i in order[n_test:])
    return train, test


def spoken_text(sentence):
    return " ".join(SPOKEN.get(w, w) for w in sentence.split())


assert len(WORDS) == 51 and len(all_sentences()) == 64000
