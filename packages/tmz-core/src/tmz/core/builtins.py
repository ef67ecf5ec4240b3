"""tmz's own languages, dialects, pairs and backends, registered through the public hooks like any plugin."""

from __future__ import annotations

from itertools import permutations
from typing import Any

from tmz.core.hookspecs import hookimpl
from tmz.core.registry import Dialect, Language, LanguagePair, ModelBackend
from tmz.core.tamazight import IrcamTransliterator, TamazightNormaliser

TAMAZIGHT = ("zgh", "tzm")
OTHERS = ("ar", "fr", "en")

#: Vocabulary of the tiny local backends (SentencePiece, built by ``tmz train init-tiny``).
TINY_VOCAB_SIZE = 512
#: google/gemma-3-1b-it's text config (Gemma3TextConfig arguments; ../shared/FINDINGS.md "Real Gemma 3 facts",
#: litert-torch's gemma3 decoder.get_decoder_config_1b): 5 sliding-window layers to 1 global.
GEMMA3_1B_TEXT: dict[str, Any] = dict(
    hidden_size=1152, intermediate_size=6912, num_hidden_layers=26, num_attention_heads=4, num_key_value_heads=1,
    head_dim=256, query_pre_attn_scalar=256, vocab_size=262144, sliding_window=512, sliding_window_pattern=6,
    max_position_embeddings=32768, tie_word_embeddings=True,
    rope_parameters={"full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
                     "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0}},
)  # fmt: skip
#: google/gemma-3-270m-it's: the 1B's but narrower and shallower (litert-torch's get_decoder_config_270m).
GEMMA3_270M_TEXT: dict[str, Any] = {**GEMMA3_1B_TEXT, "hidden_size": 640, "intermediate_size": 2048,
                                    "num_hidden_layers": 18}  # fmt: skip


@hookimpl
def register_languages(register):
    register(
        Language(
            "en", "English", ("Latn",), {"fr": "Anglais", "ar": "الإنجليزية", "zgh": "ⵜⴰⵏⴳⵍⵉⵣⵜ"}, ("eng",)
        )
    )
    register(
        Language(
            "fr", "French", ("Latn",), {"fr": "Français", "ar": "الفرنسية", "zgh": "ⵜⴰⴼⵔⴰⵏⵙⵉⵙⵜ"}, ("fra",)
        )
    )
    register(
        Language(
            "ar", "Arabic", ("Arab",), {"fr": "Arabe", "ar": "العربية", "zgh": "ⵜⴰⵄⵔⴰⴱⵜ"}, ("ara", "arb")
        )
    )


@hookimpl
def register_dialects(register):
    ircam = IrcamTransliterator()
    register(
        Dialect(
            "zgh",
            "Standard Moroccan Tamazight",
            ("Tfng", "Latn"),
            TamazightNormaliser(),
            ircam,
            {
                "fr": "Tamazight standard marocain",
                "ar": "الأمازيغية المعيارية المغربية",
                "zgh": "ⵜⴰⵎⴰⵣⵉⵖⵜ ⵜⴰⵏⴰⵡⴰⵢⵜ",
            },
            ("Tamazight", "Amazigh", "Berber", "Tamaziɣt", "ⵜⴰⵎⴰⵣⵉⵖⵜ", "الأمازيغية", "Standard Tamazight"),
        )
    )
    register(
        Dialect(
            "tzm",
            "Central Atlas Tamazight",
            ("Tfng", "Latn"),
            TamazightNormaliser(),
            ircam,
            {
                "fr": "Tamazight du Moyen Atlas",
                "ar": "أمازيغية الأطلس المتوسط",
                "zgh": "ⵜⴰⵎⴰⵣⵉⵖⵜ ⵏ ⵡⴰⵟⵍⴰⵚ ⴰⵏⴰⵎⵎⴰⵙ",
            },
            ("Middle Atlas Tamazight", "Central Atlas"),
        )
    )


@hookimpl
def register_language_pairs(register):
    for a, b in permutations(TAMAZIGHT + OTHERS, 2):
        if a in TAMAZIGHT and b in TAMAZIGHT:
            continue  # variety to variety is not a translation the app offers
        register(LanguagePair(a, b))


@hookimpl
def register_model_backends(register):
    text = dict(architecture="Gemma3ForCausalLM", modalities=("text",), auto_class="AutoModelForCausalLM")
    vision = dict(
        architecture="Gemma3ForConditionalGeneration",
        modalities=("text", "image"),
        auto_class="AutoModelForImageTextToText",
    )
    register(
        ModelBackend(
            "gemma3-1b-text", "google/gemma-3-1b-it", **text, lora_targets="all-linear",
            export_task="text_generation", model_type="gemma3", vocab_size=262144, text_config=GEMMA3_1B_TEXT,
            description="Gemma 3 1B instruction-tuned, text only",
        )
    )  # fmt: skip
    register(
        ModelBackend(
            "gemma3-270m-text", "google/gemma-3-270m-it", **text, lora_targets="all-linear",
            export_task="text_generation", model_type="gemma3", vocab_size=262144, text_config=GEMMA3_270M_TEXT,
            description="Gemma 3 270M instruction-tuned, text only: the cheapest on-device option (low-end phones)",
        )
    )  # fmt: skip
    register(
        ModelBackend(
            "gemma3-4b-vision", "google/gemma-3-4b-it", **vision, lora_targets="all-linear",
            export_task="image_text_to_text", model_type="gemma3", vocab_size=262208,
            description="Gemma 3 4B instruction-tuned, image + text (OCR translation)",
        )
    )  # fmt: skip
    register(
        ModelBackend(
            "tiny", "local:tiny-gemma3-text", **text, lora_targets="all-linear", export_task="text_generation",
            model_type="gemma3", vocab_size=TINY_VOCAB_SIZE, local=True,
            description="tiny random Gemma 3 built offline (tests and the demo)",
        )
    )  # fmt: skip
    register(
        ModelBackend(
            "tiny-vision", "local:tiny-gemma3-vision", **vision, lora_targets="all-linear",
            export_task="image_text_to_text", model_type="gemma3", vocab_size=TINY_VOCAB_SIZE, local=True,
            description="tiny random Gemma 3 vision model built offline (tests)",
        )
    )  # fmt: skip
