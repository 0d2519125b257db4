"""A schema registry speaking the Confluent REST API, in memory, for the serializers of
confluent-kafka and the package under test: registration (`POST /subjects/{s}/versions`, the
same text and type get the same id), lookup (`POST /subjects/{s}`), `GET /schemas/ids/{id}`,
`GET /subjects/{s}/versions/{latest|n}`. Compatibility is not checked."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, List, Tuple


class Registry:
    def __init__(self) -> None:
        self.schemas: List[Dict[str, Any]] = []
        self.subjects: Dict[str, List[int]] = {}
        self.requests: List[str] = []
        self.lock = threading.Lock()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.reply(*registry.get(self.path.split("?")[0]))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)) or 0)
                self.reply(*registry.post(self.path.split("?")[0], json.loads(body or b"{}")))

            def reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _id_of(self, schema: Dict[str, Any]) -> int:
        entry = {
            "schema": schema["schema"],
            "schemaType": schema.get("schemaType", "AVRO"),
            "references": schema.get("references", []),
        }
        for i, known in enumerate(self.schemas):
            if known["schema"] == entry["schema"] and known["schemaType"] == entry["schemaType"]:
                return i + 1
        self.schemas.append(entry)
        return len(self.schemas)

    def _version(self, subject: str, id: int) -> Dict[str, Any]:
        versions = self.subjects[subject]
        return {"subject": subject, "version": versions.index(id) + 1, "id": id, **self.schemas[id - 1]}

    def post(self, path: str, body: Dict[str, Any]) -> Tuple[int, Any]:
        with self.lock:
            self.requests.append(f"POST {path}")
            parts = path.strip("/").split("/")
            if parts[0] == "subjects" and len(parts) in (2, 3):
                id = self._id_of(body)
                versions = self.subjects.setdefault(parts[1], [])
                if len(parts) == 3:
                    if id not in versions:
                        versions.append(id)
                    return 200, {"id": id}
                if id in versions:
                    return 200, self._version(parts[1], id)
                return 404, {"error_code": 40403, "message": "Schema not found"}
            return 404, {"error_code": 404, "message": "not found"}

    def get(self, path: str) -> Tuple[int, Any]:
        with self.lock:
            self.requests.append(f"GET {path}")
            parts = path.strip("/").split("/")
            if parts[:2] == ["schemas", "ids"] and len(parts) == 3:
                id = int(parts[2])
                if 0 < id <= len(self.schemas):
                    return 200, self.schemas[id - 1]
                return 404, {"error_code": 40403, "message": "Schema not found"}
            if parts[0] == "subjects" and len(parts) == 4 and parts[2] == "versions":
                versions = self.subjects.get(parts[1])
                if not versions:
                    return 404, {"error_code": 40401, "message": "Subject not found"}
                n = len(versions) if parts[3] == "latest" else int(parts[3])
                return 200, self._version(parts[1], versions[n - 1])
            if parts[0] == "config":
                return 200, {"compatibilityLevel": "NONE"}
            return 404, {"error_code": 404, "message": "not found"}
