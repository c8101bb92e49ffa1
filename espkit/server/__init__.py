"""The synthesis server: a web page and an HTTP API around ``Text2Speech`` (``espkit.bin.tts_server``).

Needs the ``server`` extra (Starlette, uvicorn, python-multipart)."""
