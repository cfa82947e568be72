"""The playground's word tables: every word the page, the server and the ledger show exists in
every language, with the same slots, and Chinese is Chinese (no English left in it)."""
import json
import re
from pathlib import Path

import pytest

from chainrule.playground import words
from chainrule.playground.datasets import DATASETS
from chainrule.playground.features import FEATURES
from chainrule.playground.schema import ACTIVATIONS, DEFAULTS, OPTIMIZERS, OUTPUTS

PACKAGE = Path(words.__file__).parent
STATIC = PACKAGE / "static"
TABLES = {lang: words.table(lang) for lang in words.LANGUAGES}

#: Words a Chinese text may hold in Latin letters: names of functions and classes (chainrule's
#: layers, losses and optimizers; tanh, sin), the arrays of the equations, and a few proper names.
NAMES = {
    "Dense", "Tanh", "Sigmoid", "ReLU", "Softmax", "Identity", "Dropout", "BinaryCrossEntropy",
    "CrossEntropy", "MSE", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "ELU", "GELU", "Leaky",
    "tanh", "sigmoid", "softmax", "softplus", "sin", "log", "sign", "lr", "dW", "db", "dX", "dZ",
    "dA", "W_new", "b_new", "L1", "L2", "l1", "l2", "chainrule", "Python", "CSV", "cr", "load",
}
#: Messages only a program talking to the API meets (the page never sends such a request): they
#: may name the protocol's own words (JSON, POST, Host, Content-Type, the fields' names).
PROTOCOL = {
    "error.body_not_object", "error.unknown_field", "error.session_required", "error.session_bad",
    "error.config_not_object", "error.body_too_long", "error.body_too_large", "error.json",
    "error.nested", "error.query_unknown", "error.query_index", "error.host", "error.origin",
    "error.content_type", "error.not_found", "error.method", "error.features_type",
    "error.export_needs", "csv.not_text", "error.no_weight",
}
#: Slots an English message fills for a program reading it (the request's own field name, as in
#: "(batch_size)"), which another language may leave out: its learner reads the field's word.
API_SLOTS = {("name", ""), ("index", "")}
#: The fields the server's messages name, as ``{name|field}``.
FIELDS = set(DEFAULTS) | {"steps", "feature", "session", "weight", "layer", "i", "j"}


def slots(template):
    return sorted(words.SLOT.findall(template))


def latin_words(text):
    """The words of ``text`` in Latin letters (2 or more), slots and names taken out."""
    text = words.SLOT.sub("", text)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]", text) if w not in NAMES]


def test_every_language_has_every_word_with_the_same_slots():
    english = TABLES["en"]
    for lang, table in TABLES.items():
        assert set(table) == set(english), (lang, set(table) ^ set(english))
        for key, template in table.items():
            mine, theirs = set(slots(template)), set(slots(english[key]))
            assert mine <= theirs and theirs - mine <= API_SLOTS, (lang, key, template)


@pytest.mark.parametrize("key", sorted(TABLES["zh"]))
def test_chinese_words_are_chinese(key):
    """A Chinese text holds no English word beyond names (and the protocol's own words, in
    the messages only an API client meets); a text the same in both languages is a name."""
    text = TABLES["zh"][key]
    if key in PROTOCOL or key in ("language.name", "page.lang_tag"):
        return
    assert latin_words(text) == [], (key, text)


def test_the_tables_name_every_choice_the_page_offers():
    for kind, names in [("dataset", DATASETS), ("activation", ACTIVATIONS), ("optimizer", OPTIMIZERS),
                        ("output", ("auto", *OUTPUTS)), ("out_fn", OUTPUTS), ("feature", FEATURES),
                        ("field", FIELDS), ("ledger.rule", OPTIMIZERS), ("activation_short", ACTIVATIONS),
                        ("phase", ("forward", "backward", "loss", "update")),
                        ("replay.what", ("forward", "backward", "loss", "update"))]:
        for name in names:
            assert f"{kind}.{name}" in TABLES["en"], f"{kind}.{name}"


def _used_keys():
    """Every key named in the page's HTML and script and in the server's Python."""
    html = (STATIC / "index.html").read_text("utf-8")
    script = "\n".join(p.read_text("utf-8") for p in (STATIC / "js").glob("*.js"))
    python = "\n".join(p.read_text("utf-8") for p in PACKAGE.glob("*.py"))
    found = set(re.findall(r'data-t(?:-title|-aria)?="([\w.^]+)"', html))
    found |= set(re.findall(r'\b(?:t|say)\("([\w.^]+)"', script))
    found |= {f"{k}.{n}" for k in re.findall(r'\btn\("([\w.]+)"', script) for n in ("one", "other")}
    found |= set(re.findall(r'key: "([\w.]+)"', script))
    found |= set(re.findall(r'(?:RequestError|say|answer)\(\s*"([\w.]+)"', python))
    found |= set(re.findall(r'aside = [^\n]*"(ledger\.[\w.]+)"', python))
    return found


def test_every_word_the_code_names_is_in_the_tables():
    used = _used_keys()
    assert len(used) > 150  # the scan finds the words (a broken pattern would find none)
    missing = sorted(used - set(TABLES["en"]))
    assert missing == []


def test_a_message_is_filled_the_same_way_in_each_language():
    assert words.say("error.out_of_range", "en", name="lr", lo="1e-06", hi="10", value="0") == \
        "learning rate must be between 1e-06 and 10, got 0 (lr)"
    assert words.say("error.out_of_range", "zh", name="lr", lo="1e-06", hi="10", value="0") == \
        "学习率必须在 1e-06 到 10 之间，收到的是 0"
    # a list of names, each in the language's words, joined by its separator
    assert words.say("error.feature_needs_x2", "zh", feature="x1x2", dataset="sine",
                     use=["x1", "sin_x1"]).endswith("请从 x₁、sin x₁ 中选择")
    with pytest.raises(ValueError, match="lang must be one of en, zh, got 'fr'"):
        words.table("fr")


def test_the_tables_are_json_the_page_can_fetch():
    for lang in words.LANGUAGES:
        raw = (STATIC / f"words.{lang}.json").read_text("utf-8")
        assert json.loads(raw) == TABLES[lang]


@pytest.mark.parametrize("fields", [
    {}, {"dataset": "blobs", "optimizer": "adam", "lr": 0.05},
    {"dataset": "sine", "optimizer": "rmsprop", "lr": 0.01, "l1": 0.001, "dropout": 0.2},
    {"optimizer": "adagrad", "l2": 0.01}, {"optimizer": "adamw", "lr": 0.01}])
def test_the_ledgers_chinese_words_are_chinese(fields):
    """Every title, note and aside of a Step's ledger in Chinese, for each kind of output,
    optimizer and penalty: no English word but names (an optimizer's settings as it prints
    itself, Adam(lr=0.05, …), are its constructor's names)."""
    pytest.importorskip("flask")
    from chainrule.playground import create_app
    client = create_app().test_client()
    body = {"session": "tab-words-1", **fields}
    assert client.post("/api/configure", json=body).status_code == 200
    ledger = client.post("/api/step", json={"session": "tab-words-1"}).get_json()["ledger"]
    texts = list(ledger["words"]["zh"].values())
    texts += [text for e in ledger["entries"] for text in e["words"]["zh"].values()]
    settings = {"lr", "betas", "eps", "weight_decay", "momentum", "rho", "beta1", "beta2"}
    strays = {w for text in texts for w in latin_words(re.sub(r"\w+\(.*?\)", "", text))}
    assert strays - settings == set(), texts
