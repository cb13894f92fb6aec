"""Logins queue for argon2 before they hold a database connection.

Each request holds one pooled connection for its whole transaction, and a login's
transaction spans its argon2 check. Thirty concurrent guesses would hold the pool while
they wait for the two argon2 threads, and every other request would wait behind them.
So a document that may run `login` first takes a turn (`Passwords.turn`): at most twice
as many logins as argon2 threads hold a connection; the others wait holding nothing.

Listed before `RequestTransaction`, whose connection it must precede. The test runs
before parsing, on the text: a document that runs `login` names it, so every login
takes a turn; a query that merely mentions the word waits a little longer. The
mutations that hash or check a password for a signed-in caller (`changePassword`,
`resetPassword`) take a turn as well.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from schema.login_limit import LOGIN_FIELD

# Field names whose resolvers run argon2 ("changePassword" holds no "login").
ARGON2_FIELDS = (LOGIN_FIELD, "changePassword", "resetPassword")


class LoginGate(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:  # strawberry hook
        query = self.execution_context.query or ""
        if not any(name in query for name in ARGON2_FIELDS):
            yield
            return
        async with self.execution_context.context.services.passwords.turn():
            yield
