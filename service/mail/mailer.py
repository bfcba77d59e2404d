"""Mail that really leaves: SMTP in production, ``.eml`` files where no SMTP server is set (the
embedded default). Mails are sent after the transaction that created their tokens commits."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

from service.config import Settings
from service.logging import log


def compose(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    # A subject names records, whose imported names may hold line breaks: a header cannot.
    message["Subject"] = " ".join(subject.split())
    message["Message-ID"] = f"<{uuid.uuid4().hex}@bzpeer>"
    message.set_content(body)
    return message


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class SmtpMailer:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.use_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.use_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            use_tls=self.use_tls,
            start_tls=None if self.use_tls else False,
            timeout=10,
        )
        log.info("mail.sent", to=message["To"], subject=message["Subject"])


class FileMailer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def send(self, message: EmailMessage) -> None:
        path = self.directory / f"{uuid.uuid4().hex}.eml"
        await asyncio.to_thread(self._write, path, message.as_bytes())
        log.info("mail.written", to=message["To"], subject=message["Subject"], path=str(path))

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def create_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url)
    return FileMailer(settings.mail_dir)
