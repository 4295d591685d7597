"""The monitor's store of agent secrets: issued once, kept as a hash (push) and as the derived
monitor key (pull, `monitor.wire.tokens`); never the secret itself. Also the agent links that
let a site's browser fetch its secret with a one-time code, and the revocation of an agent."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.auth import AgentCredential, hash_secret, new_secret
from models.base import utcnow
from models.enrolment import CODE_PREFIX, AgentEnrolment
from models.site import ProbeMode, Site
from monitor.wire.tokens import monitor_key


async def issue_agent_secret(session: AsyncSession, site: Site) -> str:
    """Create or rotate the site's secret (the old one stops working); returned this once."""
    secret = new_secret("bws")
    credential = await session.scalar(
        select(AgentCredential).where(AgentCredential.site_id == site.id)
    )
    if credential is None:
        credential = AgentCredential(site_id=site.id)
        session.add(credential)
    credential.secret_hash = hash_secret(secret)
    credential.monitor_key = monitor_key(secret)
    await session.flush()
    return secret


class AgentCheck(StrEnum):
    OK = "ok"
    UNKNOWN_SECRET = "unknown_secret"  # noqa: S105 (a result name, not a secret); 401: not a secret we know at all
    OTHER_SITE = "other_site"  # 403: a valid secret, but of another site


async def check_agent_secret(session: AsyncSession, site_id: int | None, secret: str) -> AgentCheck:
    owner = await session.scalar(
        select(AgentCredential.site_id).where(AgentCredential.secret_hash == hash_secret(secret))
    )
    if owner is None:
        return AgentCheck.UNKNOWN_SECRET
    return AgentCheck.OK if owner == site_id else AgentCheck.OTHER_SITE


# -- agent links (enrolment) ---------------------------------------------------------------
#
# An operator makes a link for a site; the site's browser opens it and trades the one-time code
# in it for the site's secret. The code is a credential like the secret: 256 random bits, kept
# only as its hash, and good for one use, one site and a few days.

AGENT_PAGE = "/agent"
CLI_AUTHOR = "command line"


def agent_link(public_url: str, code: str) -> str:
    """The link a site opens. The code sits in the fragment: browsers never send that part,
    so it stays out of the server's logs, proxies' logs and Referer headers."""
    return f"{public_url}{AGENT_PAGE}#enrol={code}"


class Refusal(StrEnum):
    UNKNOWN_CODE = "unknown_code"  # 404: no such link (or its site was deleted)
    USED = "used"  # 410
    WITHDRAWN = "withdrawn"  # 410: a newer link replaced it, or the site's agent was revoked
    EXPIRED = "expired"  # 410
    SITE_DISABLED = "site_disabled"  # 409
    NOT_PROBED = "not_probed"  # 409: probe mode none, e.g. the hub


class EnrolmentError(Exception):
    """A link that cannot be made, or a code that cannot be redeemed; `detail` says why in words
    the operator or the commune's technician can act on."""

    def __init__(self, refusal: Refusal, detail: str, site_code: str | None = None) -> None:
        super().__init__(detail)
        self.refusal = refusal
        self.detail = detail
        self.site_code = site_code  # the link's site, when the code is known


@dataclass(frozen=True)
class IssuedLink:
    site: Site
    code: str  # shown this once, inside the link
    expires_at: datetime


@dataclass(frozen=True)
class Enrolled:
    site: Site
    secret: str  # shown this once, to the browser that redeemed the code


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _not_enrollable(site: Site, *, redeeming: bool) -> EnrolmentError | None:
    then = "; ask the operator to enable it, then open this link again" if redeeming else ""
    if not site.enabled:
        detail = f"site '{site.code}' ({site.name}) is disabled{then or ': enable it first'}"
        return EnrolmentError(Refusal.SITE_DISABLED, detail, site.code)
    if site.probe_mode is ProbeMode.NONE:
        ask = (
            "; ask the operator to set it to push, then open this link again"
            if redeeming
            else ": set its probe mode to push first"
        )
        detail = f"site '{site.code}' ({site.name}) is not monitored (probe mode none){ask}"
        return EnrolmentError(Refusal.NOT_PROBED, detail, site.code)
    return None


def _not_live(enrolment: AgentEnrolment, site_code: str, now: datetime) -> EnrolmentError | None:
    new_one = "; ask the operator for a new one"
    if enrolment.used_at is not None:
        detail = f"this link was already used at {_when(enrolment.used_at)}{new_one}"
        return EnrolmentError(Refusal.USED, detail, site_code)
    if enrolment.withdrawn_at is not None:
        detail = (
            f"this link was withdrawn at {_when(enrolment.withdrawn_at)} (a newer link was "
            f"made, or the site's agent was revoked){new_one}"
        )
        return EnrolmentError(Refusal.WITHDRAWN, detail, site_code)
    if enrolment.expires_at <= now:
        detail = f"this link expired at {_when(enrolment.expires_at)}{new_one}"
        return EnrolmentError(Refusal.EXPIRED, detail, site_code)
    return None


async def enrollable_sites(session: AsyncSession, parent: str | None) -> list[Site] | None:
    """The enabled, probed sites of `parent`'s subtree (itself included; every site for None),
    parents before their children and siblings by code: the order of a printed sheet. None
    when no site has the code `parent`."""
    sites = list(await session.scalars(select(Site).order_by(Site.code)))
    children: dict[int | None, list[Site]] = {}
    for site in sites:
        children.setdefault(site.parent_id, []).append(site)
    if parent is None:
        roots = children.get(None, [])
    else:
        roots = [site for site in sites if site.code == parent]
        if not roots:
            return None
    ordered: list[Site] = []
    pending = list(reversed(roots))
    seen: set[int] = set()  # a cycle cannot be stored (the API refuses it), but never loop
    while pending:
        site = pending.pop()
        if site.id in seen:
            continue
        seen.add(site.id)
        ordered.append(site)
        pending.extend(reversed(children.get(site.id, [])))
    return [site for site in ordered if _not_enrollable(site, redeeming=False) is None]


async def issue_agent_links(
    session: AsyncSession, sites: list[Site], created_by: str, lifetime: timedelta
) -> list[IssuedLink]:
    """A fresh link for each site; the sites' earlier links still unused stop working (one live
    link per site). Raises EnrolmentError for a disabled or unprobed site, issuing none."""
    for site in sites:
        if refusal := _not_enrollable(site, redeeming=False):
            raise refusal
    if not sites:
        return []
    ids = [site.id for site in sites]
    # PostgreSQL: two operators making links for one site at once take turns, so only the later
    # link stays live (SQLite takes writers one at a time anyway and ignores FOR UPDATE).
    await session.execute(
        select(Site.id).where(Site.id.in_(ids)).order_by(Site.id).with_for_update()
    )
    now = utcnow()
    await session.execute(
        update(AgentEnrolment)
        .where(
            AgentEnrolment.site_id.in_(ids),
            AgentEnrolment.used_at.is_(None),
            AgentEnrolment.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=now),
        execution_options={"synchronize_session": False},
    )
    issued = []
    for site in sites:
        code = new_secret(CODE_PREFIX)
        session.add(
            AgentEnrolment(
                site_id=site.id,
                code_hash=hash_secret(code),
                created_at=now,
                created_by=created_by,
                expires_at=now + lifetime,
            )
        )
        issued.append(IssuedLink(site, code, now + lifetime))
    await session.flush()
    return issued


async def redeem_agent_link(session: AsyncSession, code: str) -> Enrolled:
    """Trade a live code for a new secret of its site (rotated: an agent enrolled before is cut
    off) and put the site in push mode. Raises EnrolmentError, having written nothing, when
    the code is unknown, used, withdrawn or expired, or its site cannot be probed; of two
    redeems of one code, exactly one wins. The caller commits."""
    now = utcnow()
    row = (
        await session.execute(
            select(AgentEnrolment, Site)
            .join(Site, Site.id == AgentEnrolment.site_id)
            .where(AgentEnrolment.code_hash == hash_secret(code))
        )
    ).first()
    if row is None:
        raise EnrolmentError(Refusal.UNKNOWN_CODE, "unknown enrolment code")
    enrolment, site = row
    site_code = site.code
    if refusal := _not_live(enrolment, site_code, now) or _not_enrollable(site, redeeming=True):
        raise refusal
    # The claim itself is conditional: of two browsers past the checks above at once, the
    # database lets one update the row; the other finds it used and changes nothing.
    claimed = await session.execute(
        update(AgentEnrolment)
        .where(
            AgentEnrolment.id == enrolment.id,
            AgentEnrolment.used_at.is_(None),
            AgentEnrolment.withdrawn_at.is_(None),
            AgentEnrolment.expires_at > now,
        )
        .values(used_at=now),
        execution_options={"synchronize_session": False},
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        enrolment_id = enrolment.id  # the rollback expires every loaded attribute
        await session.rollback()
        fresh = await session.get(AgentEnrolment, enrolment_id, populate_existing=True)
        if fresh is None:  # its site was deleted meanwhile
            raise EnrolmentError(Refusal.UNKNOWN_CODE, "unknown enrolment code")
        raise _not_live(fresh, site_code, utcnow()) or EnrolmentError(
            Refusal.USED, "this link was already used; ask the operator for a new one", site_code
        )
    secret = await issue_agent_secret(session, site)
    site.probe_mode = ProbeMode.PUSH
    await session.flush()
    return Enrolled(site, secret)


async def revoke_agent(session: AsyncSession, site: Site) -> None:
    """The site's agent secret and unused links stop working at once (push: 401 on the agent's
    next request). The caller commits."""
    await session.execute(delete(AgentCredential).where(AgentCredential.site_id == site.id))
    await session.execute(
        update(AgentEnrolment)
        .where(
            AgentEnrolment.site_id == site.id,
            AgentEnrolment.used_at.is_(None),
            AgentEnrolment.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
