"""The closed word lists Tutopanda understands: styles, audiences, languages, resolutions, aspect ratios.

Why one module: the same words are accepted by blueprint inputs (``vocabulary: style``), by
``settings.toml`` (``[general]`` style, audience, language) and by the CLI flags (``--style``,
``--audience``, ``--language``, ``--resolution``). When each kept its own list they could drift apart,
and a value one layer took was refused by the next. Each list is written here once; a test checks that
every bundled blueprint input of that name uses it.

Why :func:`check` rather than a membership test: a refused value is almost always a near miss
(``watercolour``, ``french``, ``1080``), so the answer is one line the user can act on: the allowed
words when there are few of them, else the closest word ("did you mean 'fr' (French)?"). Languages are
also matched by their English name, case-insensitively, because people type the name, not the code.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "SHORT_VOCABULARY",
    "VOCABULARIES",
    "Verdict",
    "Vocabulary",
    "check",
    "find_vocabulary",
    "vocabulary_names",
]

SHORT_VOCABULARY = 12
"""A vocabulary with at most this many words is listed in full when a value is refused."""


@dataclass(frozen=True)
class Vocabulary:
    """A named, ordered list of allowed words.

    ``noun`` names one word with its article (``a style``, ``an ISO 639-1 language code``) so messages
    read naturally. ``names`` maps a word to its names (the first, English, is shown next to a
    suggestion; every one is matched case-insensitively, so ``French`` finds ``fr``). ``hint`` says how
    to choose a word when a value is refused.
    """

    name: str
    noun: str
    words: tuple[str, ...]
    hint: str
    names: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.words or len(set(self.words)) != len(self.words):
            raise ValueError(f"vocabulary {self.name}: words must be non-empty and distinct")
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))

    def __contains__(self, word: object) -> bool:
        return word in self.words

    def __len__(self) -> int:
        return len(self.words)

    @property
    def is_short(self) -> bool:
        """Whether a refusal lists every word (see :data:`SHORT_VOCABULARY`)."""
        return len(self.words) <= SHORT_VOCABULARY

    def label(self, word: str) -> str:
        """``'fr' (French)`` for a word with an English name, else ``'watercolor'``."""
        names = self.names.get(word)
        return f"'{word}' ({names[0]})" if names else f"'{word}'"

    def canonical(self, value: str) -> str | None:
        """The word ``value`` spells, ignoring case and surrounding blanks, or None."""
        if value in self.words:
            return value
        folded = value.strip().casefold()
        return next((word for word in self.words if word.casefold() == folded), None)

    def suggest(self, value: str) -> str | None:
        """The word ``value`` most likely meant: an English name (any case), else a close spelling."""
        folded = value.strip().casefold()
        if not folded:
            return None
        for word, names in self.names.items():
            if any(name.casefold() == folded for name in names):
                return word
        by_word = {word.casefold(): word for word in self.words}
        close = difflib.get_close_matches(folded, list(by_word), n=5, cutoff=0.6)
        if close:  # among equally close words prefer a prefix: 'eng' means 'en', not 'ng'
            prefixed = [word for word in close if folded.startswith(word) or word.startswith(folded)]
            return by_word[(prefixed or close)[0]]
        by_name = {name.casefold(): word for word, names in self.names.items() for name in names}
        close = difflib.get_close_matches(folded, list(by_name), n=1, cutoff=0.75)
        return by_name[close[0]] if close else None

    def listing(self) -> str:
        """Every word, comma-separated, in the vocabulary's order."""
        return ", ".join(self.words)

    def summary(self) -> str:
        """What ``blueprints describe`` shows: every word of a short list, else a count and examples."""
        if self.is_short:
            return "one of " + self.listing()
        return f"{self.noun} (vocabulary {self.name}, {len(self.words)} values)"


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`check`.

    ``value`` is the accepted word (its canonical spelling) or None when refused. For a refusal,
    ``message`` is one line (what is wrong, then the allowed words or a "did you mean"), ``hint`` says
    how to choose, and ``suggestion`` is the closest word, if any.
    """

    value: str | None
    message: str = ""
    hint: str = ""
    suggestion: str | None = None

    @property
    def accepted(self) -> bool:
        """True when the value is a word of the vocabulary."""
        return self.value is not None


def check(vocabulary: Vocabulary | str, value: str) -> Verdict:
    """Check ``value`` against ``vocabulary`` (or the vocabulary of that name).

    Case and surrounding blanks are forgiven (``Watercolor`` is ``watercolor``, ``EN`` is ``en``), the
    way enum inputs always were. Anything else is refused with one line: for a short vocabulary the
    allowed words (and a suggestion when one is close); for a long one only the suggestion, because a
    list of 184 language codes helps nobody.
    """
    vocab = vocabulary if isinstance(vocabulary, Vocabulary) else VOCABULARIES[vocabulary]
    word = vocab.canonical(value)
    if word is not None:
        return Verdict(word)
    suggestion = vocab.suggest(value)
    message = f"{value!r} is not {vocab.noun}"
    if suggestion is not None:
        message += f"; did you mean {vocab.label(suggestion)}?"
    if vocab.is_short:
        message += f" (allowed: {vocab.listing()})"
    return Verdict(None, message, vocab.hint, suggestion)


# -- the vocabularies ---------------------------------------------------------------------------------

_ISO_639_1: dict[str, str] = {
    "aa": "Afar",
    "ab": "Abkhazian",
    "ae": "Avestan",
    "af": "Afrikaans",
    "ak": "Akan",
    "am": "Amharic",
    "an": "Aragonese",
    "ar": "Arabic",
    "as": "Assamese",
    "av": "Avaric",
    "ay": "Aymara",
    "az": "Azerbaijani",
    "ba": "Bashkir",
    "be": "Belarusian",
    "bg": "Bulgarian",
    "bh": "Bihari",
    "bi": "Bislama",
    "bm": "Bambara",
    "bn": "Bengali; Bangla",
    "bo": "Tibetan",
    "br": "Breton",
    "bs": "Bosnian",
    "ca": "Catalan; Valencian",
    "ce": "Chechen",
    "ch": "Chamorro",
    "co": "Corsican",
    "cr": "Cree",
    "cs": "Czech",
    "cu": "Church Slavic; Old Church Slavonic",
    "cv": "Chuvash",
    "cy": "Welsh",
    "da": "Danish",
    "de": "German; Deutsch",
    "dv": "Divehi; Dhivehi; Maldivian",
    "dz": "Dzongkha",
    "ee": "Ewe",
    "el": "Greek",
    "en": "English",
    "eo": "Esperanto",
    "es": "Spanish; Castilian; Español; Espanol",
    "et": "Estonian",
    "eu": "Basque",
    "fa": "Persian; Farsi",
    "ff": "Fulah; Fula",
    "fi": "Finnish",
    "fj": "Fijian",
    "fo": "Faroese",
    "fr": "French; Français; Francais",
    "fy": "Western Frisian; Frisian",
    "ga": "Irish",
    "gd": "Scottish Gaelic; Gaelic",
    "gl": "Galician",
    "gn": "Guarani",
    "gu": "Gujarati",
    "gv": "Manx",
    "ha": "Hausa",
    "he": "Hebrew",
    "hi": "Hindi",
    "ho": "Hiri Motu",
    "hr": "Croatian",
    "ht": "Haitian Creole; Haitian",
    "hu": "Hungarian",
    "hy": "Armenian",
    "hz": "Herero",
    "ia": "Interlingua",
    "id": "Indonesian",
    "ie": "Interlingue; Occidental",
    "ig": "Igbo",
    "ii": "Sichuan Yi; Nuosu",
    "ik": "Inupiaq",
    "io": "Ido",
    "is": "Icelandic",
    "it": "Italian; Italiano",
    "iu": "Inuktitut",
    "ja": "Japanese",
    "jv": "Javanese",
    "ka": "Georgian",
    "kg": "Kongo",
    "ki": "Kikuyu; Gikuyu",
    "kj": "Kuanyama; Kwanyama",
    "kk": "Kazakh",
    "kl": "Kalaallisut; Greenlandic",
    "km": "Khmer; Central Khmer",
    "kn": "Kannada",
    "ko": "Korean",
    "kr": "Kanuri",
    "ks": "Kashmiri",
    "ku": "Kurdish",
    "kv": "Komi",
    "kw": "Cornish",
    "ky": "Kyrgyz; Kirghiz",
    "la": "Latin",
    "lb": "Luxembourgish; Letzeburgesch",
    "lg": "Ganda; Luganda",
    "li": "Limburgish; Limburgan",
    "ln": "Lingala",
    "lo": "Lao",
    "lt": "Lithuanian",
    "lu": "Luba-Katanga",
    "lv": "Latvian",
    "mg": "Malagasy",
    "mh": "Marshallese",
    "mi": "Maori",
    "mk": "Macedonian",
    "ml": "Malayalam",
    "mn": "Mongolian",
    "mr": "Marathi",
    "ms": "Malay",
    "mt": "Maltese",
    "my": "Burmese",
    "na": "Nauru",
    "nb": "Norwegian Bokmål; Bokmål",
    "nd": "North Ndebele",
    "ne": "Nepali",
    "ng": "Ndonga",
    "nl": "Dutch; Flemish; Nederlands",
    "nn": "Norwegian Nynorsk; Nynorsk",
    "no": "Norwegian",
    "nr": "South Ndebele",
    "nv": "Navajo; Navaho",
    "ny": "Chichewa; Chewa; Nyanja",
    "oc": "Occitan",
    "oj": "Ojibwa",
    "om": "Oromo",
    "or": "Oriya; Odia",
    "os": "Ossetian",
    "pa": "Punjabi; Panjabi",
    "pi": "Pali",
    "pl": "Polish; Polski",
    "ps": "Pashto; Pushto",
    "pt": "Portuguese; Português; Portugues",
    "qu": "Quechua",
    "rm": "Romansh",
    "rn": "Rundi; Kirundi",
    "ro": "Romanian; Moldovan",
    "ru": "Russian",
    "rw": "Kinyarwanda",
    "sa": "Sanskrit",
    "sc": "Sardinian",
    "sd": "Sindhi",
    "se": "Northern Sami",
    "sg": "Sango",
    "si": "Sinhala; Sinhalese",
    "sk": "Slovak",
    "sl": "Slovenian; Slovene",
    "sm": "Samoan",
    "sn": "Shona",
    "so": "Somali",
    "sq": "Albanian",
    "sr": "Serbian",
    "ss": "Swati",
    "st": "Southern Sotho; Sesotho",
    "su": "Sundanese",
    "sv": "Swedish; Svenska",
    "sw": "Swahili",
    "ta": "Tamil",
    "te": "Telugu",
    "tg": "Tajik",
    "th": "Thai",
    "ti": "Tigrinya",
    "tk": "Turkmen",
    "tl": "Tagalog; Filipino",
    "tn": "Tswana",
    "to": "Tongan; Tonga",
    "tr": "Turkish",
    "ts": "Tsonga",
    "tt": "Tatar",
    "tw": "Twi",
    "ty": "Tahitian",
    "ug": "Uyghur; Uighur",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "uz": "Uzbek",
    "ve": "Venda",
    "vi": "Vietnamese",
    "vo": "Volapük",
    "wa": "Walloon",
    "wo": "Wolof",
    "xh": "Xhosa",
    "yi": "Yiddish",
    "yo": "Yoruba",
    "za": "Zhuang",
    "zh": "Chinese; Mandarin",
    "zu": "Zulu",
}
"""ISO 639-1: every two-letter language code with its English name(s), ``;``-separated (a few widely
spoken languages also answer to their own name: ``Deutsch``, ``Español``)."""

VOCABULARIES: Mapping[str, Vocabulary] = MappingProxyType(
    {
        vocab.name: vocab
        for vocab in (
            Vocabulary(
                "style",
                "a style",
                ("illustration", "photorealistic", "watercolor", "anime", "diagram", "cinematic"),
                "pick one of the allowed styles (one list, shared by every blueprint and settings.toml)",
            ),
            Vocabulary(
                "audience",
                "an audience",
                ("child", "teen", "adult", "expert"),
                "child, teen, adult or expert: who the script is written for",
            ),
            Vocabulary(
                "language",
                "an ISO 639-1 language code",
                tuple(_ISO_639_1),
                "give the two-letter ISO 639-1 code, e.g. en (English), fr (French), de (German), "
                "es (Spanish), zh (Chinese)",
                {code: tuple(names.split("; ")) for code, names in _ISO_639_1.items()},
            ),
            Vocabulary(
                "resolution",
                "a resolution",
                ("480p", "720p", "1080p"),
                "480p, 720p or 1080p: the height of the video in pixels",
            ),
            Vocabulary(
                "aspect-ratio",
                "an aspect ratio",
                ("16:9", "9:16", "1:1", "4:3"),
                'width:height; quote it in YAML ("16:9"), where 16:9 unquoted is a number',
            ),
        )
    }
)
"""Every vocabulary by name: ``style``, ``audience``, ``language``, ``resolution``, ``aspect-ratio``."""


def vocabulary_names() -> tuple[str, ...]:
    """The vocabulary names, in the order they are documented."""
    return tuple(VOCABULARIES)


def find_vocabulary(name: str) -> Vocabulary | None:
    """The vocabulary called ``name``, or None (callers turn that into their own located error)."""
    return VOCABULARIES.get(name)
