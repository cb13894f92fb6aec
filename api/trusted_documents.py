"""Trusted documents (persisted operations): the operations a county's clients may send,
known in advance by their SHA-256.

A manifest (`ZHENGJIAO_TRUSTED_DOCUMENTS`, JSON `{"<sha256 hex>": "<document>"}`, made by
`zhengjiao trusted-documents FILE…` from the clients' .graphql files) lets a client send
only the hash (`extensions: {persistedQuery: {version: 1, sha256Hash}}`, Apollo's format):
the server fills in the document, and parses and validates only documents it knows.
With `ZHENGJIAO_TRUSTED_ONLY=1` (production) a document that is not in the manifest is
refused before it is parsed: an attacker's hand-made query never reaches the parser.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from strawberry.http import GraphQLRequestData

from tenants.problems import ErrorCode


class UntrustedDocument(Exception):
    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code.value)
        self.code = code


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def manifest(documents: Iterable[str]) -> dict[str, str]:
    """Hash → document, for the documents given."""
    return {document_hash(d): d for d in documents}


@dataclass(frozen=True)
class TrustedDocuments:
    documents: Mapping[str, str]
    only: bool  # refuse any document not in the manifest

    @classmethod
    def load(cls, path: Path | None, only: bool) -> TrustedDocuments | None:
        if path is None:
            return None
        documents = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(documents, dict) or any(document_hash(d) != h for h, d in documents.items()):
            raise RuntimeError(f"{path}: not a manifest of documents by their SHA-256")
        return cls(documents, only)

    def resolve(self, request: GraphQLRequestData) -> GraphQLRequestData:
        """The request with its document: filled in from a hash, or checked against the
        manifest when only trusted documents are served."""
        wanted = _persisted_hash(request.extensions)
        if request.query is None and wanted is not None:
            document = self.documents.get(wanted)
            if document is None:
                raise UntrustedDocument(ErrorCode.UNKNOWN_DOCUMENT)
            return dataclasses.replace(request, query=document)
        if self.only and (request.query is None or document_hash(request.query) not in self.documents):
            raise UntrustedDocument(ErrorCode.UNTRUSTED_DOCUMENT)
        return request


def _persisted_hash(extensions: Mapping[str, object] | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if isinstance(persisted, dict) and isinstance(persisted.get("sha256Hash"), str):
        return persisted["sha256Hash"].lower()
    return None


def read_documents(paths: Iterable[Path]) -> list[str]:
    """The documents of .graphql files, one per file (operations with their fragments)."""
    return [path.read_text(encoding="utf-8") for path in paths]
