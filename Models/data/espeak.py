"""libespeak-ng through ctypes: 22.05 kHz int16 speech plus the phoneme events (name, start ms).

No mbrola in Debian 12, so the phoneme timings come from libespeak-ng's own phoneme events
(espeakINITIALIZE_PHONEME_EVENTS): one event per phoneme with its mnemonic (espeak's phoneme table
name, e.g. "p", "aI", "@") and its position in the output audio in milliseconds.
"""
import ctypes
import ctypes.util

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000
EVENT_PHONEME = 7
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
POS_CHARACTER = 1
CHARS_UTF8 = 1
RATE, PITCH, RANGE, WORDGAP = 1, 3, 4, 7


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


class Espeak:
    def __init__(self):
        self.lib = ctypes.CDLL(ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1")
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                               INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT)
        if self.rate <= 0:
            raise RuntimeError("espeak_Initialize failed")
        self._chunks, self._events = [], []
        self._cb = _CALLBACK(self._collect)  # keep a reference: the library calls it
        self.lib.espeak_SetSynthCallback(self._cb)
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]

    def _collect(self, wav, n, events):
        if n > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != 0:  # espeakEVENT_LIST_TERMINATED
            e = events[i]
            if e.type == EVENT_PHONEME:
                self._events.append((e.id.string.decode("ascii", "replace"), e.audio_position))
            i += 1
        return 0

    def synth(self, text, voice, speed, pitch, pitch_range=50, word_gap=0):
        """-> (int16 samples at self.rate, [(phoneme, start_ms), ...])."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        self.lib.espeak_SetParameter(RATE, int(speed), 0)
        self.lib.espeak_SetParameter(PITCH, int(pitch), 0)
        self.lib.espeak_SetParameter(RANGE, int(pitch_range), 0)
        self.lib.espeak_SetParameter(WORDGAP, int(word_gap), 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        r = self.lib.espeak_Synth(ctypes.c_char_p(data), ctypes.c_size_t(len(data)), 0, POS_CHARACTER, 0, CHARS_UTF8,
                                  None, None)
        if r != 0:
            raise RuntimeError(f"espeak_Synth failed ({r})")
        self.lib.espeak_Synchronize()
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio.astype(np.int16), list(self._events)
