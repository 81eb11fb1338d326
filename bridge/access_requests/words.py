"""What access-request mails and review pages say, in English, French and Romanian (the
languages of the invitation mail, themes/bridge). Each recipient reads its own language:
its Keycloak ``locale`` attribute, English without one."""

from __future__ import annotations

from datetime import UTC, datetime

LANGUAGES = ("en", "fr", "ro")

_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "ro": ("ianuarie", "februarie", "martie", "aprilie", "mai", "iunie", "iulie", "august",
           "septembrie", "octombrie", "noiembrie", "decembrie"),
}

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "ask.subject": "{product}: access request for {tenant}",
        "ask.body": "{requester} asks for an account for {person} ({email}) in {tenant}, "
                    "with the profile {profile}.",
        "ask.who": "As the responsible of {tenant}, you decide: sign in, then confirm or "
                   "lower the profile, or decline. Only you can use these links.",
        "ask.approve": "Review and approve",
        "ask.decline": "Decline",
        "ask.expires": "This request expires on {date}.",
        "declined.subject": "{product}: your access request for {person} was declined",
        "declined.body": "{decider} declined your request for an account for {person} "
                         "({email}) in {tenant}.",
        "declined.reason": "Reason: {reason}",
        "page.title": "Access request",
        "page.requester": "Requested by",
        "page.person": "Person",
        "page.tenant": "For",
        "page.asked": "Profile asked",
        "page.grant": "Profile to grant",
        "page.expires": "Expires",
        "page.approve": "Approve and send the invitation",
        "page.reason": "Reason (mailed to the requester)",
        "page.decline": "Decline the request",
        "page.approved": "Approved: the invitation was sent to {email}.",
        "page.declined": "Declined: {requester} has been told.",
        "page.not-found": "There is no such access request.",
        "page.forbidden": "Only the responsible of this request can decide on it.",
        "page.decided": "This request has already been decided ({state}).",
        "page.expired": "This request has expired.",
        "page.refused": "The request cannot be approved as asked: {detail}",
        "page.signed-in": "Signed in as {name}.",
    },
    "fr": {
        "ask.subject": "{product} : demande d’accès pour {tenant}",
        "ask.body": "{requester} demande un compte pour {person} ({email}) dans {tenant}, "
                    "avec le profil {profile}.",
        "ask.who": "En tant que responsable de {tenant}, vous décidez : connectez-vous, "
                   "puis confirmez ou abaissez le profil, ou refusez. Vous seul(e) pouvez "
                   "utiliser ces liens.",
        "ask.approve": "Examiner et approuver",
        "ask.decline": "Refuser",
        "ask.expires": "Cette demande expire le {date}.",
        "declined.subject": "{product} : votre demande d’accès pour {person} a été refusée",
        "declined.body": "{decider} a refusé votre demande de compte pour {person} "
                         "({email}) dans {tenant}.",
        "declined.reason": "Motif : {reason}",
        "page.title": "Demande d’accès",
        "page.requester": "Demandée par",
        "page.person": "Personne",
        "page.tenant": "Pour",
        "page.asked": "Profil demandé",
        "page.grant": "Profil accordé",
        "page.expires": "Expire le",
        "page.approve": "Approuver et envoyer l’invitation",
        "page.reason": "Motif (envoyé au demandeur)",
        "page.decline": "Refuser la demande",
        "page.approved": "Approuvée : l’invitation a été envoyée à {email}.",
        "page.declined": "Refusée : {requester} a été prévenu(e).",
        "page.not-found": "Cette demande d’accès n’existe pas.",
        "page.forbidden": "Seul(e) le responsable de cette demande peut en décider.",
        "page.decided": "Cette demande a déjà été traitée ({state}).",
        "page.expired": "Cette demande a expiré.",
        "page.refused": "La demande ne peut pas être approuvée ainsi : {detail}",
        "page.signed-in": "Connecté(e) en tant que {name}.",
    },
    "ro": {
        "ask.subject": "{product}: cerere de acces pentru {tenant}",
        "ask.body": "{requester} solicită un cont pentru {person} ({email}) în {tenant}, "
                    "cu profilul {profile}.",
        "ask.who": "Ca responsabil al {tenant}, decideți: autentificați-vă, apoi confirmați "
                   "sau reduceți profilul, ori refuzați. Doar dumneavoastră puteți folosi "
                   "aceste linkuri.",
        "ask.approve": "Examinați și aprobați",
        "ask.decline": "Refuzați",
        "ask.expires": "Această cerere expiră la {date}.",
        "declined.subject": "{product}: cererea dumneavoastră de acces pentru {person} a "
                            "fost refuzată",
        "declined.body": "{decider} a refuzat cererea dumneavoastră de cont pentru {person} "
                         "({email}) în {tenant}.",
        "declined.reason": "Motiv: {reason}",
        "page.title": "Cerere de acces",
        "page.requester": "Solicitată de",
        "page.person": "Persoana",
        "page.tenant": "Pentru",
        "page.asked": "Profil solicitat",
        "page.grant": "Profil acordat",
        "page.expires": "Expiră la",
        "page.approve": "Aprobați și trimiteți invitația",
        "page.reason": "Motiv (trimis solicitantului)",
        "page.decline": "Refuzați cererea",
        "page.approved": "Aprobată: invitația a fost trimisă la {email}.",
        "page.declined": "Refuzată: {requester} a fost anunțat(ă).",
        "page.not-found": "Această cerere de acces nu există.",
        "page.forbidden": "Doar responsabilul acestei cereri poate decide asupra ei.",
        "page.decided": "Această cerere a fost deja soluționată ({state}).",
        "page.expired": "Această cerere a expirat.",
        "page.refused": "Cererea nu poate fi aprobată astfel: {detail}",
        "page.signed-in": "Autentificat(ă) ca {name}.",
    },
}


def language(locale: str | None) -> str:
    """The recipient's language: its ``locale`` when offered (``fr-BE`` → ``fr``), else
    English."""
    base = (locale or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else "en"


def say(lang: str, key: str, **values: str) -> str:
    return WORDS[language(lang)][key].format(**values)


def date(iso: str, lang: str) -> str:
    """``2 December 2026, 14:05 UTC`` in ``lang`` (the invitation mail's format)."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    month = _MONTHS[language(lang)][when.month - 1]
    return f"{when.day} {month} {when.year}, {when:%H:%M} UTC"
