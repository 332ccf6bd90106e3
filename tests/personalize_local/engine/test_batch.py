"""Batch inference lines in Personalize's output format; bad lines become error lines."""

import json

from personalize_local.engine import load_model, parse_filter, run_batch_lines


def test_user_lines_bad_lines_and_filters(up_model):
    lines = [
        '{"userId": "1"}',
        "not json",
        "",
        '{"itemId": "5"}',
        "[1, 2]",
        '{"userId": "2", "filterValues": {"G": "\\"g0\\""}}',
        '{"userId": "3", "itemList": ["1", "2", "nope"]}',
    ]
    expr = parse_filter("EXCLUDE ItemID WHERE Items.GENRE IN ($G)")
    out = [
        json.loads(x)
        for x in run_batch_lines(up_model, lines, 5, lambda inp: expr.bind(inp.get("filterValues")))
    ]
    assert len(out) == 6  # blank line skipped
    ok = out[0]
    assert ok["input"] == {"userId": "1"} and ok["error"] is None
    assert len(ok["output"]["recommendedItems"]) == 5 and len(ok["output"]["scores"]) == 5
    # Failed lines as AWS writes them: the input, an empty recommendation list, "User error: <reason>".
    assert out[1]["output"] == {"recommendedItems": []} and out[1]["error"].startswith("User error: line 2: invalid")
    assert out[2] == {
        "input": {"itemId": "5"},
        "output": {"recommendedItems": []},
        "error": "User error: Required fields for the provided recipe are userId",
    }
    assert out[3]["output"] == {"recommendedItems": []} and "expected a JSON object" in out[3]["error"]
    genres = up_model.items.set_index("ITEM_ID").loc[out[4]["output"]["recommendedItems"], "GENRE"]
    assert not genres.str.contains("g0").any()
    assert out[5]["output"]["recommendedItems"][-1] == "nope"


def test_item_lines_for_sims_and_line_errors_do_not_stop_the_job(trained):
    model = load_model(trained["aws-sims"][0])

    def broken_factory(inp):
        if inp.get("itemId") == "2":
            raise RuntimeError("filter value missing")
        return None

    out = [
        json.loads(x)
        for x in run_batch_lines(
            model, ['{"itemId": "1"}', '{"itemId": "2"}', '{"itemId": "3"}'], 10, broken_factory
        )
    ]
    assert [o["error"] is None for o in out] == [True, False, True]
    assert "filter value missing" in out[1]["error"]
    assert len(out[2]["output"]["recommendedItems"]) == 10
