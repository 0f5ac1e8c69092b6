"""The security primitives end to end: register, log in, MFA, tokens, without any web framework."""

from dataclasses import dataclass

from bastion.core import BastionSettings
from bastion.security import (
    PasswordHasher,
    PasswordPolicy,
    RecoveryCodes,
    SecretBox,
    TokenService,
    TotpService,
    generate_token,
    hash_token,
)


@dataclass
class Account:
    email: str
    password_hash: str
    totp_secret_encrypted: str | None = None
    totp_last_step: int | None = None


async def register(settings: BastionSettings, email: str, password: str) -> Account:
    # Raises WeakPasswordError (422 WEAK_PASSWORD, every reason in details).
    await PasswordPolicy.from_settings(settings).validate(password, email=email)
    return Account(email, await PasswordHasher.from_settings(settings).hash(password))


async def login(
    settings: BastionSettings, account: Account | None, password: str
) -> tuple[str, str] | None:
    hasher = PasswordHasher.from_settings(settings)
    if account is None:
        return await hasher.verify_dummy(password) or None  # one verification, like a user
    if not await hasher.verify(account.password_hash, password):
        return None
    if hasher.needs_rehash(account.password_hash):
        account.password_hash = await hasher.hash(password)
    refresh_token = generate_token()  # store only hash_token(refresh_token)
    session_id = hash_token(refresh_token)[:16]
    access = TokenService.from_settings(settings).issue_access_token(
        account.email, session_id=session_id
    )
    return access, refresh_token


def enable_mfa(settings: BastionSettings, account: Account) -> tuple[str, list[str]]:
    totp = TotpService.from_settings(settings)
    secret = totp.generate_secret()
    box = SecretBox.from_settings(settings)
    account.totp_secret_encrypted = box.encrypt(secret, associated_data=account.email.encode())
    codes = RecoveryCodes.from_settings(settings).generate()  # store codes.hashes
    return totp.provisioning_uri(secret, account.email), codes.codes


def check_mfa(settings: BastionSettings, account: Account, code: str) -> bool:
    assert account.totp_secret_encrypted is not None
    secret = SecretBox.from_settings(settings).decrypt_text(
        account.totp_secret_encrypted, associated_data=account.email.encode()
    )
    step = TotpService.from_settings(settings).verify(
        secret, code, last_step=account.totp_last_step
    )
    if step is None:
        return False
    account.totp_last_step = step  # in a database: a conditional UPDATE on the old value
    return True
