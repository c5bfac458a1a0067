"""The Open Inference Protocol (V2, KServe's and Triton's REST API) over the store.

routes: the /v2 WSGI layer and its error shape; metadata: the server's and each
model's tensors; framing and request: an infer body, binary tensors included, checked
before use; encoding: the answer in JSON or binary.
"""

from service.v2.routes import V2Routes

__all__ = ["V2Routes"]
