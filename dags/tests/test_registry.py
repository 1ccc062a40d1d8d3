"""Promotion rule and the model API notification (against real local HTTP servers)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from include.registry import notify_model_api, promotion_rule
from tests.support.servers import free_port


@pytest.mark.parametrize(
    "candidate,production,min_improvement,promote,reason",
    [
        (100.0, None, 0.0, True, "no_production_model"),
        (99.0, 100.0, 0.0, True, "mae 99.00 < 100.00"),
        (100.0, 100.0, 0.0, False, "mae 100.00 >= 100.00"),
        (101.0, 100.0, 0.0, False, "mae 101.00 >= 100.00"),
        (97.0, 100.0, 0.02, True, "mae 97.00 < 98.00"),
        (98.5, 100.0, 0.02, False, "mae 98.50 >= 98.00"),
    ],
)
def test_promotion_rule(candidate, production, min_improvement, promote, reason):
    c = promotion_rule(metric="mae", candidate=candidate, production=production, min_improvement=min_improvement)
    assert c.promote is promote
    assert c.reason.startswith(reason)
    assert (c.candidate_value, c.production_value) == (candidate, production)


class _Hook:
    def __init__(self, status):
        self.bodies = []
        self.authorizations = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):  # noqa: N802
                hook.bodies.append((self.path, json.loads(self.rfile.read(int(self.headers["content-length"])))))
                hook.authorizations.append(self.headers.get("authorization"))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_notify_posts_the_version():
    hook = _Hook(202)
    try:
        assert notify_model_api(hook.url, {"name": "realtor-price", "version": "3"}) is True
        assert hook.bodies == [("/hooks/model_update", {"name": "realtor-price", "version": "3"})]
        assert hook.authorizations == [None]
    finally:
        hook.close()


def test_notify_sends_the_hook_token():
    hook = _Hook(200)
    try:
        assert notify_model_api(hook.url, {"version": "3"}, token="f00d" * 16) is True
        assert hook.authorizations == ["Bearer " + "f00d" * 16]
    finally:
        hook.close()


def test_notify_failure_is_reported_not_raised():
    hook = _Hook(500)
    try:
        assert notify_model_api(hook.url, {"version": "3"}) is False
    finally:
        hook.close()
    assert notify_model_api(f"http://127.0.0.1:{free_port()}", {"version": "3"}, timeout=2) is False
    assert notify_model_api(None, {"version": "3"}) is False


def _model(*, external_in_main=False, external_in_branch=False):
    """A small Add graph; optionally a tensor stored as external data, in the main graph or
    hidden in an If branch (what a crafted model.onnx would do to read a file)."""
    from onnx import TensorProto, helper

    def tensor(name, external):
        t = helper.make_tensor(name, TensorProto.FLOAT, [1], [1.0])
        if external:
            t.ClearField("float_data")
            t.data_location = TensorProto.EXTERNAL
            t.external_data.add(key="location", value="/etc/hostname")
        return t

    branch = helper.make_graph([helper.make_node("Constant", [], ["c"], value=tensor("hidden", external_in_branch))],
                               "branch", [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [1])])
    nodes = [helper.make_node("Add", ["x", "w"], ["y"]),
             helper.make_node("If", ["cond"], ["z"], then_branch=branch, else_branch=branch)]
    graph = helper.make_graph(nodes, "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1]),
                               helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1]),
                               helper.make_tensor_value_info("z", TensorProto.FLOAT, [1])],
                              initializer=[tensor("w", external_in_main)])
    return helper.make_model(graph)


def test_external_data_references_finds_tensors_outside_the_file_anywhere():
    from include.registry import external_data_references

    assert external_data_references(_model()) == []
    assert external_data_references(_model(external_in_main=True)) == ["w -> /etc/hostname"]
    # Both branches of the If hold the same crafted Constant.
    assert external_data_references(_model(external_in_branch=True)) == ["hidden -> /etc/hostname"] * 2


def test_model_sha256_is_the_hex_digest_of_the_bytes():
    import hashlib

    from include.registry import model_sha256

    data = _model().SerializeToString()
    assert model_sha256(data) == hashlib.sha256(data).hexdigest()
    assert len(model_sha256(b"")) == 64
