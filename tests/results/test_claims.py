"""The paper's claims checked on made-up Table 1 and Table 2 results (✓ / ✗ / – per claim)."""

from __future__ import annotations

from reslstm.results.claims import (
    HIGHWAY,
    PAPER_TABLE1,
    PAPER_TABLE2,
    PLAIN,
    RESIDUAL,
    TABLE2,
    check_claims,
)

PAPER_NON_OVER = {cell: non_over for cell, (_, non_over) in PAPER_TABLE1.items()}
PARAMS = {(m, n): n * {PLAIN: 4.7, HIGHWAY: 5.3, RESIDUAL: 4.2}[m] for m, n in PAPER_TABLE1}


def marks(wer: dict, params: dict = PARAMS, untrained: frozenset = frozenset()) -> list[str]:
    return [c.mark for c in check_claims(wer, params, untrained)]


def test_the_papers_own_table_passes_every_claim() -> None:
    claims = check_claims(PAPER_NON_OVER, PARAMS)
    assert [c.mark for c in claims] == ["✓"] * 8
    assert claims[0].ours == "+13.7 %"  # 48.2 vs 42.4, as the abstract says
    assert claims[1].ours == "+6.2 % vs plain +13.7 %"
    assert claims[5].ours == "-3.3 % / -2.8 %"  # residual 10 vs the 3-layer baselines


def test_each_claim_fails_on_its_own_counterexample() -> None:
    def with_(**changes: float) -> dict:
        names = {"p3": (PLAIN, 3), "p10": (PLAIN, 10), "h10": (HIGHWAY, 10)}
        names |= {"r5": (RESIDUAL, 5), "r10": (RESIDUAL, 10), "h3": (HIGHWAY, 3)}
        return PAPER_NON_OVER | {names[k]: v for k, v in changes.items()}

    assert marks(with_(p10=42.0))[0] == "✗"  # plain 10 better than plain 3
    assert marks(with_(h10=50.0))[1] == "✗"  # highway degrades more than plain
    assert marks(with_(r5=45.0))[2] == "✗"  # residual 5 worse than 3
    got = marks(with_(r10=43.0))
    assert got[3] == got[4] == got[5] == "✗"  # residual 10 worse than 3, not best, not below
    assert marks(with_(h3=60.0, h10=63.0))[6] == "✗"  # baselines 40 % apart
    fat = PARAMS | {(RESIDUAL, 5): 5.3 * 5}
    assert marks(PAPER_NON_OVER, fat)[7] == "✗"


def test_missing_numbers_give_a_dash_and_untrained_models_a_cross() -> None:
    partial = {c: v for c, v in PAPER_NON_OVER.items() if c != (PLAIN, 10)}
    got = marks(partial)
    assert got[0] == got[1] == "–" and got[2] == "✓"
    claims = check_claims(PAPER_NON_OVER, PARAMS, frozenset({(HIGHWAY, 10)}))
    assert claims[1].mark == "✗" and claims[1].ours == "untrained: highway_lstm L10"
    assert claims[0].mark == "✓"
    assert check_claims({}, {})[7].mark == "–"


PAPER2_NON_OVER = {cell: non_over for cell, (_, non_over) in PAPER_TABLE2.items()}
TABLE2_CLAIMS = [
    "highway 10 layers worse than highway 3",
    "residual 5 layers no worse than residual 3",
    "residual 10 layers no worse than residual 3",
    "residual 10 layers the best of the six",
    "residual has >10 % fewer parameters than highway (equal depth)",
]


def test_table2_claims_hold_on_the_papers_own_figures() -> None:
    claims = check_claims(PAPER2_NON_OVER, PARAMS, paper=TABLE2)
    assert [c.text for c in claims] == TABLE2_CLAIMS
    assert [c.mark for c in claims] == ["✓"] * 5
    assert [c.paper for c in claims[:4]] == ["+2.6 %", "-3.3 %", "-6.2 %", "39.3 %"]  # 43.4/42.3
    assert claims == check_claims(PAPER2_NON_OVER | {(PLAIN, 3): 10.0}, PARAMS, paper=TABLE2)


def test_each_table2_claim_fails_on_its_own_counterexample() -> None:
    def marks2(**changes: float) -> list[str]:
        names = {"h10": (HIGHWAY, 10), "r5": (RESIDUAL, 5), "r10": (RESIDUAL, 10)}
        wer = PAPER2_NON_OVER | {names[k]: v for k, v in changes.items()}
        return [c.mark for c in check_claims(wer, PARAMS, paper=TABLE2)]

    assert marks2(h10=42.0) == ["✗", "✓", "✓", "✓", "✓"]  # highway 10 better than highway 3
    assert marks2(r5=42.5) == ["✓", "✗", "✓", "✓", "✓"]  # residual 5 worse than 3
    assert marks2(r10=42.0) == ["✓", "✓", "✗", "✗", "✓"]  # residual 10 worse than 3, not best
    assert marks2(r10=40.6) == ["✓", "✓", "✓", "✗", "✓"]  # better than 3, but r5 is the best
    fat = PARAMS | {(RESIDUAL, 10): 5.3 * 10}
    assert [c.mark for c in check_claims(PAPER2_NON_OVER, fat, paper=TABLE2)][4] == "✗"
    untrained = check_claims(PAPER2_NON_OVER, PARAMS, frozenset({(HIGHWAY, 10)}), TABLE2)
    assert untrained[0].ours == "untrained: highway_lstm L10" and untrained[3].mark == "✗"
