"""The envelope renderer never fails on odd content."""

from __future__ import annotations

import json

from bastion.errors import JSONResponse, render_error


def test_unencodable_details_are_replaced_not_raised() -> None:
    response = render_error(
        "VALIDATION_ERROR",
        "bad",
        status_code=422,
        details=[{"loc": ["body", "\ud800key"], "msg": "x"}, ("tuple", 1)],
        request_id="r1",
    )
    body = json.loads(response.body)
    assert body["error"]["details"][0]["loc"] == ["body", "\ufffdkey"]
    assert body["error"]["details"][1] == ["tuple", 1]
    assert body["error"]["request_id"] == "r1"


def test_json_response_uses_orjson_and_sets_media_type() -> None:
    response = JSONResponse({"a": 1, 2: "b"})
    assert response.body == b'{"a":1,"2":"b"}'
    assert response.media_type == "application/json"
