"""A template grammar for meeting talk in AMI's scenario domain (a team designing a TV remote).

Written for this project. Sentences are token lists: lower-case words plus the punctuation
tokens ``,`` ``.`` ``?`` that AMI's word files carry (lhotse splits segments at ``.``).
Each sentence belongs to exactly one split, decided by a hash of its words, so a dev or test
sentence never occurs in train.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

import numpy as np

# Sentence hash buckets (out of 20) per split: 80 % train, 10 % dev, 10 % test.
_BUCKETS = {"train": range(0, 16), "dev": range(16, 18), "test": range(18, 20)}
PUNCTUATION = frozenset({",", ".", "?"})

# Non-terminals and their alternatives, separated by "|"; ``<NAME>`` expands recursively and an
# empty alternative means "nothing".
_GRAMMAR: dict[str, str] = {
    "S": (
        "<OPEN> <STATEMENT> . | <OPEN> <STATEMENT> . | <STATEMENT> . | <STATEMENT> . | "
        "<OPEN> <QUESTION> ? | <QUESTION> ? | <BACKCHANNEL> . | <BACKCHANNEL> , <STATEMENT> . | "
        "<OPEN> <PLAN> . | <REPORT> ."
    ),
    "OPEN": (
        "okay , | so | um | uh | well , | yeah , | right , | and | but | so um | okay so | "
        "yeah i mean | actually , | alright , | um so | uh well ,"
    ),
    "BACKCHANNEL": (
        "yeah | okay | mm-hmm | right | sure | yes | no | exactly | uh-huh | that's true | "
        "i agree | good idea | fair enough | okay great | yeah yeah | i see | true | cool"
    ),
    "STATEMENT": (
        "i think <NP> should be <ADJ> | i think we <MODAL> <DESIGN_VERB> <NP> | "
        "we <MODAL> <DESIGN_VERB> <NP> <WHERE> | <NP> <BE> <EVAL> | <NP> <BE> <EVAL> <BECAUSE> | "
        "the <USERS> <PREFER> <ADJ> <PARTS> | <PERCENT> percent of the <USERS> <FINDING> | "
        "<PART_NP> <COSTS> <PRICE> | our <TARGET> is <PRICE> | it <MODAL> <HAVE> <NP> | "
        "<PRONOUN> <OPINION> <NP> | maybe we <MODAL> use <NP> <INSTEAD> | "
        "that <MODAL> make it <EVAL_ADJ> for the <USERS> | i'm not sure about <NP> | "
        "we don't need <NP> | <NP> is <WHERE> | the <ROLE> <REPORT_VERB> that <NP> <BE> <EVAL> | "
        "the company wants <NP> | i <LIKE_VERB> the idea of <NP> | "
        "it's <TIME_PHRASE> so we <MODAL> <MEETING_ACTION>"
    ),
    "QUESTION": (
        "what about <NP> | do you think <NP> <BE> <EVAL> | can we <DESIGN_VERB> <NP> <WHERE> | "
        "should it be <ADJ> | how much <COSTS_Q> <NP> | who is going to <TASK> | is <NP> <EVAL> | "
        "<DO> the <USERS> <LIKE_VERB> <NP> | what do you think about <NP> | "
        "are we going to <DESIGN_VERB> <NP> | could you <TASK> | which <PART> <MODAL> we use"
    ),
    "PLAN": (
        "let's <MEETING_ACTION> | let's <MEETING_ACTION> and then <MEETING_ACTION> | "
        "i will <TASK> <WHEN> | you <MODAL> <TASK> <WHEN> | "
        "in the <MEETING_REF> meeting we <PAST_ACTION> | "
        "the next meeting starts in <NUMBER> minutes | we have <NUMBER> minutes left"
    ),
    "REPORT": (
        "<OPEN> <PERCENT> percent of the <USERS> <FINDING> | "
        "<OPEN> the <ROLE> <REPORT_VERB> that <NP> <BE> <EVAL> | "
        "<OPEN> from the <SOURCE> we learned that the <USERS> <PREFER> <ADJ> <PARTS> | "
        "<OPEN> the <TARGET> <BE> <PRICE>"
    ),
    "NP": (
        "the <PART> | the <ADJ> <PART> | a <PART> | a <ADJ> <PART> | <PARTS> | <ADJ> <PARTS> | "
        "the <PART> <PP> | our <PART> | this <PART> | that <PART> | the <FEATURE> | a <FEATURE> | "
        "the <COLOUR> <PART> | <COLOUR> <PARTS>"
    ),
    "PART_NP": "the <PART> | a <ADJ> <PART> | the <ADJ> <PART> | each <PART>",
    "PP": "on the <SIDE> | for the <FEATURE> | with <PARTS> | in the <SIDE>",
    "PART": (
        "remote | remote control | button | battery | case | chip | screen | display | "
        "scroll wheel | power button | volume button | channel button | menu button | logo | "
        "design | prototype | shape | material | speaker | microphone | casing | cover | keypad | "
        "push button | circuit board | infrared sensor | solar cell | charger | television | "
        "device | product | model | interface | layout | colour | surface | corner | grip | "
        "light | signal | sensor"
    ),
    "PARTS": (
        "buttons | batteries | chips | screens | colours | shapes | materials | functions | "
        "features | menus | channels | remotes | controls | keys | lights | corners | options | "
        "devices | products"
    ),
    "FEATURE": (
        "speech recognition | voice control | teletext | channel list | locator function | "
        "back light | menu | on off switch | numbers | help button"
    ),
    "SIDE": "front | back | top | bottom | left | right | middle | side | edge",
    "ADJ": (
        "big | small | large | simple | fancy | round | curved | flat | thin | thick | soft | "
        "hard | rubber | plastic | wooden | metal | spongy | double curved | single curved | "
        "cheap | expensive | new | old | modern | standard | basic | advanced | easy | ergonomic | "
        "<COLOUR> | bright | light | original | innovative | user friendly | rechargeable | "
        "natural"
    ),
    "COLOUR": (
        "yellow | red | blue | green | black | white | grey | silver | orange | dark | company"
    ),
    "EVAL": (
        "<EVAL_ADJ> | too <EVAL_ADJ> | very <EVAL_ADJ> | quite <EVAL_ADJ> | a bit <EVAL_ADJ> | "
        "really <EVAL_ADJ> | not very <EVAL_ADJ> | more <EVAL_ADJ> | important | a good idea | "
        "a problem | possible | necessary"
    ),
    "EVAL_ADJ": (
        "good | nice | useful | important | difficult | easy | expensive | cheap | complicated | "
        "confusing | boring | attractive | comfortable | ugly | interesting | popular | annoying | "
        "practical | handy | cool"
    ),
    "BE": "is | is | isn't | would be | could be | should be | might be | seems",
    "MODAL": "should | could | can | might | will | would | must | have to | need to",
    "DO": "do | would | will | did",
    "DESIGN_VERB": (
        "put | add | use | make | design | include | remove | move | change | keep | drop | "
        "integrate | combine | hide | test | build | show"
    ),
    "WHERE": (
        "on the <SIDE> | in the <SIDE> | at the <SIDE> | on top | next to the <PART> | "
        "inside the <PART> | below the <PART> | above the <PART> | "
    ),
    "INSTEAD": "instead | as well | too | for now | anyway | ",
    "BECAUSE": (
        "because the <USERS> <PREFER> it | because of the <PRICE_WORD> | for the <USERS> | "
        "but it <COSTS> more | if we <DESIGN_VERB> <NP> | so we <MODAL> <DESIGN_VERB> it"
    ),
    "USERS": (
        "users | young people | older people | customers | kids | children | people | "
        "target group | younger users"
    ),
    "PREFER": "prefer | like | want | hate | dislike | need | lose | use | buy | forget",
    "LIKE_VERB": "like | love | want | prefer | hate",
    "OPINION": "like | love | don't like | really like | would prefer | hate",
    "PRONOUN": "i | we | you | they | people",
    "FINDING": (
        "<PREFER> <ADJ> <PARTS> | find the remote <EVAL_ADJ> | say they lose their remote | "
        "only use ten percent of the buttons | would pay more for <NP> | "
        "want something <EVAL_ADJ> | use the remote every day"
    ),
    "PERCENT": (
        "ten | twenty | thirty | forty | fifty | sixty | seventy | eighty | ninety | "
        "seventy five | twenty five | fifteen"
    ),
    "NUMBER": "two | three | four | five | ten | fifteen | twenty | thirty | forty",
    "PRICE": (
        "<PRICE_NUM> euros | <PRICE_NUM> euro | <PRICE_NUM> euros fifty | "
        "under <PRICE_NUM> euros | about <PRICE_NUM> euros"
    ),
    "PRICE_NUM": (
        "twelve | twenty five | fifteen | ten | eight | five | one | two | three | fifty | forty | "
        "twenty"
    ),
    "PRICE_WORD": "price | cost | budget | production costs",
    "COSTS": "costs | costs about | is | adds",
    "COSTS_Q": "does | would | will",
    "TARGET": "selling price | production cost | budget | target price",
    "HAVE": "have | get | use | support | include",
    "ROLE": (
        "project manager | industrial designer | marketing expert | user interface designer | "
        "marketing | management | designer | team | manager"
    ),
    "REPORT_VERB": "said | says | thinks | mentioned | decided | told us | found",
    "SOURCE": "survey | market research | questionnaire | internet | report",
    "TASK": (
        "send the minutes | look at the <PART> | work on the <PART> | write the report | "
        "check the <PRICE_WORD> | draw the <PART> | present the <PART> | make the prototype | "
        "do the evaluation | finish the presentation | look at the trends | test the prototype"
    ),
    "WHEN": (
        "after the meeting | before the next meeting | tomorrow | later | today | "
        "in the next meeting | this afternoon | next time | now | "
    ),
    "MEETING_ACTION": (
        "start | begin | move on | go on | wrap up | finish | have a break | look at the agenda | "
        "discuss the <PART> | talk about <NP> | decide on <NP> | evaluate the prototype | "
        "go back to the <PART> | summarise | vote | see the presentation | stop here | get started"
    ),
    "PAST_ACTION": (
        "decided on <NP> | talked about <NP> | discussed the <PART> | agreed on <NP> | "
        "looked at <NP> | chose <NP> | dropped the <FEATURE>"
    ),
    "MEETING_REF": "last | first | previous | next | final",
    "TIME_PHRASE": "getting late | almost time | five minutes",
}
RULES = {name: [alt.strip() for alt in text.split("|")] for name, text in _GRAMMAR.items()}
# Fillers dropped into sentences between words, as in spontaneous meeting speech.
FILLERS = ("um", "uh", "um", "uh", "you know", "i mean", "like", "sort of", "kind of")
_REF = re.compile(r"<([A-Z_]+)>")


def expand(symbol: str, rng: np.random.Generator) -> list[str]:
    """Expand ``<symbol>`` into a list of tokens by choosing alternatives uniformly."""
    alternatives = RULES[symbol]
    text = alternatives[int(rng.integers(len(alternatives)))]
    tokens: list[str] = []
    for piece in text.split():
        match = _REF.fullmatch(piece)
        tokens.extend(expand(match.group(1), rng) if match else [piece])
    return tokens


def words_of(tokens: list[str]) -> list[str]:
    """The words of a token list (punctuation removed)."""
    return [t for t in tokens if t not in PUNCTUATION]


def split_of(tokens: list[str]) -> str:
    """The split a sentence belongs to: a stable hash of its words picks a bucket."""
    bucket = zlib.crc32(" ".join(words_of(tokens)).encode()) % 20
    return next(split for split, buckets in _BUCKETS.items() if bucket in buckets)


def sentence(rng: np.random.Generator, filler_prob: float = 0.15) -> list[str]:
    """One random sentence (tokens), with a filler inserted with probability ``filler_prob``."""
    tokens = expand("S", rng)
    if rng.random() < filler_prob and len(tokens) > 3:
        at = int(rng.integers(1, len(tokens) - 1))
        if tokens[at - 1] not in PUNCTUATION and tokens[at] not in PUNCTUATION:
            filler = FILLERS[int(rng.integers(len(FILLERS)))]
            tokens[at:at] = filler.split()
    return tokens


def sentences_for(split: str, rng: np.random.Generator, filler_prob: float) -> Iterator[list[str]]:
    """Endless stream of sentences that belong to ``split`` (rejection sampling by hash)."""
    while True:
        tokens = sentence(rng, filler_prob)
        if split_of(tokens) == split:
            yield tokens


def vocabulary() -> set[str]:
    """Every word the grammar can produce (fillers included)."""
    words = {f for filler in FILLERS for f in filler.split()}
    for alternatives in RULES.values():
        for text in alternatives:
            words.update(p for p in text.split() if not _REF.fullmatch(p))
    return words - PUNCTUATION
