"""``client.leads``: find, get, create, update, remove, pause, resume and mark leads.

https://developer.lemlist.com/api-reference/endpoints/leads

Writes follow the rule of the writes page: a create (``add``) or a marking
(``set_interested``) that may have been applied is never sent again blindly.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any, Final

from lemlist_async._constants import FANOUT_CONCURRENCY
from lemlist_async._errors import NotFoundError
from lemlist_async._fanout import ProgressHook
from lemlist_async._imports import LeadImport
from lemlist_async._models import LeadDetails, LeadInCampaign, NewLead
from lemlist_async._params import check_concurrency, check_flag, check_text, path_segment
from lemlist_async._request import Body, Request
from lemlist_async._retry import RetryClass

from ._base import Resource

__all__ = ["Leads"]

#: lemlist's 404 body for an email it has no lead for: an empty answer, not an
#: error (any other 404, such as "No user found for this API key", still is).
_NO_LEAD = "Lead not found"

#: Create Lead in Campaign's query flags, by their Python names.
_CREATE_FLAGS: Final = {
    "deduplicate": "deduplicate",
    "find_email": "findEmail",
    "verify_email": "verifyEmail",
    "linkedin_enrichment": "linkedinEnrichment",
    "find_phone": "findPhone",
}
#: Update Lead in a Campaign's body members, by their Python names.
_UPDATE_FIELDS: Final = {
    "first_name": "firstName",
    "last_name": "lastName",
    "company_name": "companyName",
    "job_title": "jobTitle",
    "preferred_contact_method": "preferredContactMethod",
}


class Leads(Resource):
    """Leads, across campaigns. Reached as ``client.leads``."""

    async def find(self, email: str) -> builtins.list[LeadInCampaign]:
        """Every campaign a lead is in, by its email.

        ``GET /leads/{email}?version=v2``
        https://developer.lemlist.com/api-reference/endpoints/leads/get-lead-by-email

        Args:
            email: The lead's email, sent as one path segment (``+``, ``%``, ``/``
                and non-ASCII characters are encoded).

        Returns:
            One entry per campaign the lead is in; ``[]`` when lemlist has no lead
            with that email.

        Raises:
            ValueError, TypeError: A bad email; nothing was sent.
            NotFoundError: A 404 other than "Lead not found" (a key without a user).
            LemlistError: Any other failure, as for every call.
        """
        segment = path_segment(email, "email")
        request = Request[builtins.list[LeadInCampaign]](
            method="GET",
            path=f"/leads/{segment}",
            into=builtins.list[LeadInCampaign],
            query={"version": "v2"},
            template="/leads/{email}",
        )
        try:
            return await self._send(request)
        except NotFoundError as error:
            if error.body.strip() == _NO_LEAD:
                return []
            raise

    async def get(self, *, email: str | None = None, lead_id: str | None = None) -> LeadDetails:
        """One lead, by its email or its id (exactly one of the two).

        ``GET /leads?email=|id=&version=v2``
        https://developer.lemlist.com/api-reference/endpoints/leads/get-lead

        Args:
            email: The lead's email.
            lead_id: The lead's id (``lea_...``).

        Returns:
            The lead.

        Raises:
            ValueError, TypeError: Neither or both given, or a bad value; nothing was sent.
            NotFoundError: No such lead ("Lead not found").
            LemlistError: Any other failure, as for every call.
        """
        if (email is None) == (lead_id is None):
            raise ValueError("give exactly one of email= and lead_id=")
        query = {"version": "v2"}
        if email is not None:
            query["email"] = check_text(email, "email")
        else:
            query["id"] = check_text(lead_id, "lead_id")
        return await self._send(
            Request[LeadDetails](method="GET", path="/leads", into=LeadDetails, query=query)
        )

    # -- Writes ------------------------------------------------------------------------

    async def add(
        self,
        campaign_id: str,
        *,
        email: str,
        first_name: str | None = None,
        last_name: str | None = None,
        company_name: str | None = None,
        job_title: str | None = None,
        linkedin_url: str | None = None,
        picture: str | None = None,
        phone: str | None = None,
        company_domain: str | None = None,
        icebreaker: str | None = None,
        timezone: str | None = None,
        contact_owner: str | None = None,
        variables: Mapping[str, str | int | float | bool] | None = None,
        deduplicate: bool = False,
        find_email: bool = False,
        verify_email: bool = False,
        linkedin_enrichment: bool = False,
        find_phone: bool = False,
        reconcile: bool | None = None,
    ) -> LeadDetails:
        """Create a lead in a campaign.

        ``POST /campaigns/{campaignId}/leads/``
        https://developer.lemlist.com/api-reference/endpoints/leads/create-lead-in-campaign

        A create may duplicate: after an attempt that may have been applied (a
        5xx, a timeout, a dropped connection) it is not sent again. With
        ``reconcile`` on, the email is looked up in the campaign instead: the
        lead found is returned, and only a lead proven absent is sent once more.

        Args:
            campaign_id: The campaign's id.
            email: The lead's email.
            first_name: The lead's first name; the other documented fields
                (``last_name``, ``company_name``, ``job_title``, ``linkedin_url``,
                ``picture``, ``phone``, ``company_domain``, ``icebreaker``,
                ``timezone``, ``contact_owner``) likewise. None ones are not sent.
            variables: Custom variables, by name.
            deduplicate: Refuse the lead if its email is in another campaign.
            find_email, verify_email, linkedin_enrichment, find_phone: Enrichment
                on creation (they spend credits).
            reconcile: Look the lead up after an ambiguous attempt instead of
                raising; None takes the client's option (off by default).

        Returns:
            The lead created (or, reconciled, the lead found in the campaign).

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            AmbiguousWriteError: The create may or may not have been applied,
                and ``reconcile`` was off (or every send it allows was ambiguous).
            NotFoundError: No such campaign ("Campaign not found").
            BadRequestError: lemlist refused the lead; its words are in the error.
            LemlistError: Any other failure, as for every call.
        """
        lead = NewLead(
            email=email,
            first_name=first_name,
            last_name=last_name,
            company_name=company_name,
            job_title=job_title,
            linkedin_url=linkedin_url,
            picture=picture,
            phone=phone,
            company_domain=company_domain,
            icebreaker=icebreaker,
            timezone=timezone,
            contact_owner=contact_owner,
            variables=variables,
        )
        request = self._create_request(
            campaign_id,
            lead,
            {
                "deduplicate": deduplicate,
                "find_email": find_email,
                "verify_email": verify_email,
                "linkedin_enrichment": linkedin_enrichment,
                "find_phone": find_phone,
            },
        )
        created, _ = await self._add(
            request, lead.email, campaign_id, reconcile=self._reconcile(reconcile, False)
        )
        return created

    def add_many(
        self,
        campaign_id: str,
        leads: Iterable[NewLead | Mapping[str, Any]] | AsyncIterable[NewLead | Mapping[str, Any]],
        *,
        deduplicate: bool = False,
        reconcile: bool | None = None,
        concurrency: int | None = None,
        on_progress: ProgressHook | None = None,
    ) -> LeadImport:
        """Import leads into a campaign at the rate limit: one create each, results as they come.

        ::

            async with client.leads.add_many("cam_...", rows) as results:
                async for result in results:
                    if not result.ok:
                        print(result.index, result.status.value, result.error)

        First the campaign's export is read once (one request) for the emails
        it already has: those leads are ``PRESENT`` and nothing is sent for
        them, so running the same input again after an interruption creates no
        duplicate. The rest are created through the fan-out, one request each,
        as fast as the rate limit allows. After an ambiguous attempt the email
        is looked up (``reconcile``, on unless turned off): a lead found is
        ``CREATED`` with ``reconciled`` set; one proven absent is sent once more.

        Args:
            campaign_id: The campaign's id.
            leads: ``NewLead`` values, or mappings for ``NewLead.from_mapping``
                (CSV rows, JSON objects), from any iterable or async iterable;
                read lazily.
            deduplicate: Refuse leads whose email is in another campaign.
            reconcile: Look ambiguous creates up instead of reporting them
                ``AMBIGUOUS``; None takes the client's option, else True.
            concurrency: Creates in flight at most; by default a little above
                what the rate limit can use.
            on_progress: Called as ``on_progress(done, total)`` after each lead;
                ``total`` is None when ``leads`` has no length.

        Returns:
            A ``LeadImport``: an async iterator of ``ImportResult``, one per lead,
            in completion order. A lead that is invalid or refused is an item
            (``FAILED``), never the end of the import.

        Raises:
            ValueError, TypeError: A bad ``campaign_id``, flag or ``concurrency``;
                raised here.
            NotFoundError: No such campaign: raised by the first iteration.
            LemlistError: The export could not be read: raised by the first iteration.
        """
        path_segment(campaign_id, "campaign_id")
        flags = {"deduplicate": check_flag(deduplicate, "deduplicate")}
        resolved = self._reconcile(reconcile, True)

        async def create(lead: NewLead) -> tuple[LeadDetails, bool]:
            request = self._create_request(campaign_id, lead, flags)
            return await self._add(request, lead.email, campaign_id, reconcile=resolved)

        async def present() -> set[str]:
            exported = self._client.campaigns.iter_export_leads(campaign_id)
            return {lead.email.casefold() async for lead in exported if lead.email}

        return LeadImport(
            leads,
            present=present,
            create=create,
            concurrency=FANOUT_CONCURRENCY
            if concurrency is None
            else check_concurrency(concurrency),
            on_progress=on_progress,
        )

    async def update(
        self,
        campaign_id: str,
        lead_id: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        company_name: str | None = None,
        job_title: str | None = None,
        preferred_contact_method: str | None = None,
    ) -> LeadDetails:
        """Update a lead's fields in a campaign.

        ``PATCH /campaigns/{campaignId}/leads/{leadId}``
        https://developer.lemlist.com/api-reference/endpoints/leads/update-lead-in-a-campaign

        Sending the same values again changes nothing, so it is retried like a
        read, except lemlist's documented permanent 500 ("Lead in graveyard").

        Args:
            campaign_id: The campaign's id.
            lead_id: The lead's id in it.
            first_name: The first name to set; ``last_name``, ``company_name``,
                ``job_title`` and ``preferred_contact_method`` (``email`` or
                ``linkedIn``) likewise. None ones are left as they are.

        Returns:
            The lead, updated.

        Raises:
            ValueError, TypeError: A bad argument, or no field to set; nothing was sent.
            NotFoundError: No such lead ("Lead not found").
            ServerError: A 500: the lead is in the graveyard; not retried.
            LemlistError: Any other failure, as for every call.
        """
        campaign = path_segment(campaign_id, "campaign_id")
        lead = path_segment(lead_id, "lead_id")
        given = {
            "first_name": first_name,
            "last_name": last_name,
            "company_name": company_name,
            "job_title": job_title,
            "preferred_contact_method": preferred_contact_method,
        }
        body = {
            _UPDATE_FIELDS[name]: check_text(value, name)
            for name, value in given.items()
            if value is not None
        }
        if not body:
            raise ValueError("give at least one field to update")
        return await self._send(
            Request[LeadDetails](
                method="PATCH",
                path=f"/campaigns/{campaign}/leads/{lead}",
                into=LeadDetails,
                json=body,
                never_retry=frozenset({500}),
            )
        )

    async def remove(self, campaign_id: str, lead_id: str, *, hard: bool = False) -> None:
        """Unsubscribe a lead from a campaign, or delete it from the campaign with ``hard``.

        ``DELETE /campaigns/{campaignId}/leads/{leadId}`` (``action=remove`` when hard)
        https://developer.lemlist.com/api-reference/endpoints/leads/delete-or-unsubscribe-lead

        Retried like a read: a "Lead not found" that follows an attempt which
        may have been applied means that attempt deleted it, and the call succeeds.

        Args:
            campaign_id: The campaign's id.
            lead_id: The lead's id in it.
            hard: Delete the lead, instead of only unsubscribing it.

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            NotFoundError: No such lead ("Lead not found"), with no earlier attempt.
            LemlistError: Any other failure, as for every call.
        """
        campaign = path_segment(campaign_id, "campaign_id")
        lead = path_segment(lead_id, "lead_id")
        await self._send(
            Request[None](
                method="DELETE",
                path=f"/campaigns/{campaign}/leads/{lead}",
                query={"action": "remove"} if check_flag(hard, "hard") else {},
                body=Body.EMPTY,
                done_answers=((404, _NO_LEAD),),
            )
        )

    async def pause(
        self, lead_id: str, *, campaign_id: str | None = None
    ) -> builtins.list[LeadDetails]:
        """Pause a lead, in every campaign or in one.

        ``POST /leads/pause/{leadId}``
        https://developer.lemlist.com/api-reference/endpoints/leads/pause-lead

        A target state: sending it again changes nothing, so it is retried like a read.

        Args:
            lead_id: The lead's id.
            campaign_id: Pause it only in this campaign.

        Returns:
            The lead's entries, paused.

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            NotFoundError: No such lead ("Lead not found").
            LemlistError: Any other failure, as for every call.
        """
        lead = path_segment(lead_id, "lead_id")
        query = (
            {} if campaign_id is None else {"campaignId": check_text(campaign_id, "campaign_id")}
        )
        return await self._send(
            Request[builtins.list[LeadDetails]](
                method="POST",
                path=f"/leads/pause/{lead}",
                into=builtins.list[LeadDetails],
                query=query,
            )
        )

    async def resume(self, lead_id: str) -> builtins.list[LeadDetails]:
        """Resume a paused lead, in every campaign.

        ``POST /leads/start/{leadId}``
        https://developer.lemlist.com/api-reference/endpoints/leads/resume-paused-lead

        A target state: sending it again changes nothing, so it is retried like a read.

        Args:
            lead_id: The lead's id.

        Returns:
            The lead's entries, resumed.

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            NotFoundError: No such lead ("Lead not found").
            LemlistError: Any other failure, as for every call.
        """
        lead = path_segment(lead_id, "lead_id")
        return await self._send(
            Request[builtins.list[LeadDetails]](
                method="POST", path=f"/leads/start/{lead}", into=builtins.list[LeadDetails]
            )
        )

    async def set_interested(
        self, lead: str, interested: bool, *, campaign_id: str | None = None
    ) -> builtins.list[LeadDetails]:
        """Mark a lead as interested or not interested, in every campaign or in one.

        ``POST /leads/interested|notinterested/{leadIdOrEmail}``, or
        ``POST /campaigns/{campaignId}/leads/{leadIdOrEmail}/interested|notinterested``
        https://developer.lemlist.com/api-reference/endpoints/leads/mark-lead-as-interested

        Marking creates an activity and fires webhooks (and CRM syncs): it is
        not sent again after an attempt that may have been applied.

        Args:
            lead: The lead's id or email (kept out of errors and logs above DEBUG).
            interested: True for interested, False for not interested.
            campaign_id: Mark it only in this campaign.

        Returns:
            The lead's entries that were marked (one with ``campaign_id``).

        Raises:
            ValueError, TypeError: A bad argument; nothing was sent.
            AmbiguousWriteError: The marking may or may not have been applied.
            NotFoundError: No such lead or campaign.
            LemlistError: Any other failure, as for every call.
        """
        segment = path_segment(lead, "lead")
        yes = check_flag(interested, "interested")
        verb = "interested" if yes else "notinterested"
        if campaign_id is None:
            return await self._send(
                Request[builtins.list[LeadDetails]](
                    method="POST",
                    path=(
                        f"/leads/interested/{segment}"
                        if yes
                        else f"/leads/notinterested/{segment}"
                    ),
                    into=builtins.list[LeadDetails],
                    retry=RetryClass.UNSAFE,
                    template=f"/leads/{verb}/{{leadIdOrEmail}}",
                )
            )
        campaign = path_segment(campaign_id, "campaign_id")
        one = await self._send(
            Request[LeadDetails](
                method="POST",
                path=(
                    f"/campaigns/{campaign}/leads/{segment}/interested"
                    if yes
                    else f"/campaigns/{campaign}/leads/{segment}/notinterested"
                ),
                into=LeadDetails,
                retry=RetryClass.UNSAFE,
                template=f"/campaigns/{campaign}/leads/{{leadIdOrEmail}}/{verb}",
            )
        )
        return [one]

    # -- Creating, with reconciliation -----------------------------------------------

    def _create_request(
        self, campaign_id: str, lead: NewLead, flags: Mapping[str, bool]
    ) -> Request[LeadDetails]:
        segment = path_segment(campaign_id, "campaign_id")
        query = {_CREATE_FLAGS[name]: "true" for name, on in flags.items() if check_flag(on, name)}
        return Request[LeadDetails](
            method="POST",
            path=f"/campaigns/{segment}/leads/",
            into=LeadDetails,
            query=query,
            json=lead.to_json(),
            retry=RetryClass.UNSAFE,
        )

    async def _add(
        self, request: Request[LeadDetails], email: str, campaign_id: str, *, reconcile: bool
    ) -> tuple[LeadDetails, bool]:
        async def find() -> LeadDetails | None:
            for entry in await self.find(email):
                if entry.campaign is not None and entry.campaign.id == campaign_id:
                    return await self.get(lead_id=entry.id)
            return None

        return await self._create(request, reconcile=reconcile, find=find)
