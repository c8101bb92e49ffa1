"""The synthesis server's ASGI application (Starlette): the page at ``/``, the HTTP API under
``/api``, ``/healthz`` and the OpenAPI description at ``/api/openapi.json``.

>>> app = create_app({"demo": Text2Speech.from_pretrained("packed.zip")}, specs)  # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=8080)  # doctest: +SKIP

Every error is JSON ``{"error": message, "field": name or null}``: 400 for a field's value or a
control the model cannot honour, 404 for an unknown model or path, 413 for a body or upload over
its limit, 415 for an unknown body type or an upload that is no WAV, 503 when the queue is full,
504 when synthesis ran past the time limit. Request paths and uploads never name a file: the page's
files are looked up in the package's own ``static`` folder by Starlette's ``StaticFiles``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List, Mapping, Optional, Sequence

import numpy as np
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.schemas import SchemaGenerator
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from espkit.server.api_request import MAX_SEED, Limits, RequestError, TTSRequest, parse_tts_request
from espkit.server.audio import stream_header, to_pcm16, wav_bytes
from espkit.server.pool import QueueFull, Slot, SynthesisPool, SynthesisTimeout
from espkit.server.synthesis import ModelSpec, SentenceJob, describe
from espkit.tts.text2speech import Text2Speech

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("espkit.server.access")

STATIC_DIR = Path(__file__).parent / "static"
#: Room for a multipart form's fields and boundaries beside its upload.
FORM_OVERHEAD_BYTES = 64 * 1024


class RequestLog:
    """ASGI middleware: one log line per HTTP request with its status, bytes sent, total time and
    time to the first body byte (for a stream, the first audio)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        seen: Dict[str, Any] = {"status": 500, "bytes": 0, "first_s": None}

        async def logged_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body" and message.get("body"):
                if seen["first_s"] is None:
                    seen["first_s"] = time.perf_counter() - start
                seen["bytes"] += len(message["body"])
            await send(message)

        try:
            await self.app(scope, receive, logged_send)
        finally:
            first = seen["first_s"]
            access_logger.info(
                "%s %s %d %d bytes %.1f ms (first byte %s)",
                scope["method"],
                scope["path"],
                seen["status"],
                seen["bytes"],
                1000 * (time.perf_counter() - start),
                "-" if first is None else f"{1000 * first:.1f} ms",
            )


def _error(status: int, message: str, field: Optional[str] = None, headers: Optional[Dict[str, str]] = None):
    return JSONResponse({"error": message, "field": field}, status_code=status, headers=headers)


def _rounded(array: Optional[np.ndarray], decimals: int) -> Optional[List[Any]]:
    return None if array is None else np.round(array.astype(np.float64), decimals).tolist()


def sentence_json(text: str, result: Dict[str, Any], fs: int) -> Dict[str, Any]:
    """The JSON of one synthesised sentence: text, samples, emotion, speaker, tokens, ``duration`` (frames per
    token), ``features`` ``(T_feats, odim)`` and ``attention`` ``(T_feats, T_text + 1)`` or null."""
    num_samples = int(result["wav"].size)
    return {
        "text": text,
        "num_samples": num_samples,
        "duration_s": num_samples / fs,
        "emotion": result["emotion"],
        "speaker": result.get("speaker"),
        "tokens": result.get("tokens"),
        "duration": None if result.get("duration") is None else result["duration"].tolist(),
        "features": _rounded(result.get("features"), 2),
        "attention": _rounded(result.get("attention"), 3),
        "timing": {key: round(value, 4) for key, value in result["timing"].items()},
    }


class TTSServer:
    """The state behind the routes: the models, their descriptions, the workers and the limits."""

    def __init__(
        self,
        models: Dict[str, Text2Speech],
        specs: Sequence[ModelSpec] = (),
        num_workers: int = 1,
        max_queue: int = 4,
        limits: Optional[Limits] = None,
        default_seed: int = 777,
        num_threads: int = 1,
    ):
        if not models:
            raise ValueError("a server needs at least one model")
        self.models = models
        self.descriptions = [describe(name, tts) for name, tts in models.items()]
        self.limits = limits or Limits()
        self.default_seed = default_seed
        self.pool = SynthesisPool(models, specs, num_workers, max_queue, num_threads)

    # --- endpoints --------------------------------------------------------------------------------
    async def index(self, request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    async def healthz(self, request: Request) -> Response:
        """
        ---
        summary: Liveness and load
        responses:
          200:
            description: "{status: ok, models, workers, requests (running or queued), capacity}"
        """
        pool = self.pool
        return JSONResponse(
            {
                "status": "ok",
                "models": list(self.models),
                "workers": pool.num_workers,
                "requests": pool.held,
                "capacity": pool.capacity,
            }
        )

    async def list_models(self, request: Request) -> Response:
        """
        ---
        summary: The served models
        description: >
          For each model its name, architecture, sampling_rate, emotions (default_emotion first),
          speakers (default_speaker first; empty for a single-speaker model) and controls (speed,
          pitch_scale, energy_scale, pitch_shift_cents, emotion, reference, speaker: whether a
          request may set them), and the limits of a request.
        responses:
          200:
            description: "{models: [...], limits: {...}}"
        """
        limits = self.limits
        return JSONResponse({"models": self.descriptions, "limits": vars(limits)})

    async def tts_get(self, request: Request) -> Response:
        """
        ---
        summary: Synthesise text given in the query string (for <audio src>)
        description: >
          Query fields as for POST (emotion as a name or "happy:0.7,neutral:0.3"). Answers audio/wav
          (streamed sentence by sentence when the text has several), or JSON with format=json.
        parameters:
          - {name: text, in: query, required: true, schema: {type: string}}
          - {name: model, in: query, schema: {type: string}}
          - {name: emotion, in: query, schema: {type: string}}
          - {name: speaker, in: query, schema: {type: string}}
          - {name: speed, in: query, schema: {type: number}}
          - {name: pitch_scale, in: query, schema: {type: number}}
          - {name: pitch_shift_cents, in: query, schema: {type: number}}
          - {name: energy_scale, in: query, schema: {type: number}}
          - {name: seed, in: query, schema: {type: integer}}
          - {name: format, in: query, schema: {type: string, enum: [wav, json, ndjson]}}
          - {name: stream, in: query, schema: {type: boolean}}
        responses:
          200: {description: "audio/wav, application/json or application/x-ndjson"}
          400: {description: "a field's value, or a control the model cannot honour"}
          503: {description: the queue is full}
        """
        fields = dict(request.query_params)
        parsed = parse_tts_request(fields, self.models, self.limits, True, None, self.default_seed)
        return await self.synthesize(parsed)

    async def tts_post(self, request: Request) -> Response:
        """
        ---
        summary: Synthesise text
        description: >
          A JSON body {model, text, emotion (a name or {name: weight}), speaker (a name of the model's
          speakers, or an id; default: its first), speed (> 1 faster), pitch_scale,
          pitch_shift_cents, energy_scale, seed, format (wav | json | ndjson), stream}, or a multipart
          form with the same fields as text and a file "reference" (a WAV at the model's rate whose
          emotion the model's classifier recognises). format json answers {audio (base64 WAV),
          sampling_rate, sentences: [{text, tokens, duration, features, attention, emotion}]};
          ndjson one such line per sentence (with "pcm": base64 16-bit samples) and a last {done: true}.
        requestBody:
          content:
            application/json: {schema: {type: object, required: [text]}}
            multipart/form-data: {schema: {type: object, required: [text]}}
        responses:
          200: {description: "audio/wav, application/json or application/x-ndjson"}
          400: {description: "a field's value, or a control the model cannot honour"}
          413: {description: the body or the upload is too large}
          415: {description: not JSON or multipart, or the upload is no WAV}
          503: {description: the queue is full}
          504: {description: synthesis ran past the time limit}
        """
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/json":
            body = await self._read_body(request, self.limits.max_body_bytes)
            try:
                fields = json.loads(body)
            except (ValueError, UnicodeDecodeError) as e:
                raise RequestError(None, f"the body is not valid JSON: {e}") from None
            if not isinstance(fields, dict):
                raise RequestError(None, "the JSON body must be an object of fields")
            parsed = parse_tts_request(fields, self.models, self.limits, False, None, self.default_seed)
        elif content_type == "multipart/form-data":
            fields, reference = await self._read_form(request)
            parsed = parse_tts_request(fields, self.models, self.limits, True, reference, self.default_seed)
        else:
            raise RequestError(
                None, f"send application/json or multipart/form-data, not {content_type or 'no content type'}", 415
            )
        return await self.synthesize(parsed)

    async def openapi(self, request: Request) -> Response:
        generator = SchemaGenerator(
            {"openapi": "3.0.0", "info": {"title": "espkit synthesis server", "version": _version()}}
        )
        return JSONResponse(generator.get_schema(routes=request.app.routes))

    # --- reading requests -------------------------------------------------------------------------
    @staticmethod
    async def _read_body(request: Request, limit: int) -> bytes:
        """The body, read no further than ``limit`` bytes (413 past it)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise RequestError(None, f"the body of {declared} bytes is over the limit of {limit}", 413)
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise RequestError(None, f"the body is over the limit of {limit} bytes", 413)
        return bytes(body)

    async def _read_form(self, request: Request) -> tuple[Dict[str, Any], Optional[bytes]]:
        """The text fields of a multipart form and the bytes of its ``reference`` file (in memory)."""
        limit = self.limits.max_upload_bytes + FORM_OVERHEAD_BYTES
        body = await self._read_body(request, limit)

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            form = await Request(request.scope, replay).form(max_files=1, max_fields=16)
        except HTTPException as e:
            raise RequestError(None, f"the multipart form cannot be read: {e.detail}") from None
        fields: Dict[str, Any] = {}
        reference = None
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(form.close)
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if key != "reference":
                        raise RequestError(key, "the only file a request may upload is 'reference'")
                    reference = await value.read()
                else:
                    fields[key] = value
        if fields.get("emotion") == "":
            del fields["emotion"]
        return fields, reference

    # --- synthesis --------------------------------------------------------------------------------
    async def _run(self, slot: Slot, job: SentenceJob, deadline: float) -> Dict[str, Any]:
        try:
            return await self.pool.run(slot, job, deadline)
        except ValueError as e:  # the model's own refusal of this text or option
            raise RequestError(None, str(e)) from None
        except SynthesisTimeout:
            raise RequestError(
                None, f"synthesis took longer than the limit of {self.limits.timeout_s:g} s", 504
            ) from None

    async def synthesize(self, request: TTSRequest) -> Response:
        """Synthesise a checked request: one response, or a stream whose first sentence is ready."""
        fs = self.models[request.model].fs
        details = request.format != "wav"
        jobs = [
            SentenceJob(
                request.model,
                sentence,
                request.emotion,
                request.reference,
                request.decode_conf,
                (request.seed + index) % (MAX_SEED + 1),
                details,
                request.speaker,
            )
            for index, sentence in enumerate(request.sentences)
        ]
        slot = self.pool.acquire()
        deadline = asyncio.get_running_loop().time() + self.limits.timeout_s
        try:
            first = await self._run(slot, jobs[0], deadline)
            if not request.stream:
                results = [first] + [await self._run(slot, job, deadline) for job in jobs[1:]]
        except BaseException:
            slot.release()
            raise
        if not request.stream:
            slot.release()
            return self._whole(request, results, fs)
        return StreamingResponse(
            self._stream(request, jobs, first, slot, deadline, fs),
            media_type="audio/wav" if request.format == "wav" else "application/x-ndjson",
            headers={"X-Sampling-Rate": str(fs), "X-Sentences": str(len(jobs))},
        )

    def _whole(self, request: TTSRequest, results: List[Dict[str, Any]], fs: int) -> Response:
        pcm = to_pcm16(np.concatenate([result["wav"] for result in results]))
        if request.format == "wav":
            return Response(wav_bytes(fs, pcm), media_type="audio/wav", headers={"X-Sampling-Rate": str(fs)})
        return JSONResponse(
            {
                "model": request.model,
                "sampling_rate": fs,
                "seed": request.seed,
                "num_samples": int(pcm.size),
                "duration_s": pcm.size / fs,
                "emotion": results[0]["emotion"],
                "speaker": request.speaker,
                "audio": base64.b64encode(wav_bytes(fs, pcm)).decode("ascii"),
                "sentences": [sentence_json(text, result, fs) for text, result in zip(request.sentences, results)],
            }
        )

    async def _stream(
        self,
        request: TTSRequest,
        jobs: List[SentenceJob],
        first: Dict[str, Any],
        slot: Slot,
        deadline: float,
        fs: int,
    ) -> AsyncIterator[bytes]:
        total = 0
        try:
            result: Optional[Dict[str, Any]] = first
            for index, job in enumerate(jobs):
                if index > 0:
                    try:
                        result = await self._run(slot, job, deadline)
                    except RequestError as e:  # the status is sent: end the stream, say why
                        logger.warning("stream ended at sentence %d of %d: %s", index + 1, len(jobs), e)
                        if request.format == "ndjson":
                            yield (json.dumps({"done": True, **e.to_json()}) + "\n").encode()
                        return
                pcm = to_pcm16(result["wav"])
                total += pcm.size
                if request.format == "wav":
                    yield (stream_header(fs) if index == 0 else b"") + pcm.astype("<i2").tobytes()
                else:
                    line = {
                        "index": index,
                        "count": len(jobs),
                        "sampling_rate": fs,
                        **sentence_json(job.text, result, fs),
                    }
                    line["pcm"] = base64.b64encode(pcm.astype("<i2").tobytes()).decode("ascii")
                    yield (json.dumps(line) + "\n").encode()
            if request.format == "ndjson":
                yield (json.dumps({"done": True, "num_samples": total, "duration_s": total / fs}) + "\n").encode()
        finally:
            slot.release()


def _version() -> str:
    return (Path(__file__).parent.parent / "version.txt").read_text().strip()


def create_app(server: TTSServer) -> Starlette:
    """The ASGI app of ``server``; its workers start with the app (lifespan) and stop with it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.get_running_loop().run_in_executor(None, server.pool.start)
        try:
            yield
        finally:
            server.pool.close()

    async def request_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestError)
        return JSONResponse(exc.to_json(), status_code=exc.status)

    async def queue_full(request: Request, exc: Exception) -> Response:
        return _error(503, str(exc), headers={"Retry-After": "1"})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return _error(exc.status_code, str(exc.detail), headers=exc.headers)

    routes = [
        Route("/", server.index, methods=["GET"], include_in_schema=False),
        Route("/healthz", server.healthz, methods=["GET"]),
        Route("/api/models", server.list_models, methods=["GET"]),
        Route("/api/tts", server.tts_get, methods=["GET"]),
        Route("/api/tts", server.tts_post, methods=["POST"]),
        Route("/api/openapi.json", server.openapi, methods=["GET"], include_in_schema=False),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    handlers: Mapping[Any, Any] = {RequestError: request_error, QueueFull: queue_full, HTTPException: http_error}
    app = Starlette(routes=routes, exception_handlers=dict(handlers), lifespan=lifespan)
    app.add_middleware(RequestLog)
    return app
