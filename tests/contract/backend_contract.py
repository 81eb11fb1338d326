"""The contract of :class:`scim.backend.ScimBackend`, as one suite every backend runs.

``scim/backend.py`` states the rules in its docstrings; this suite checks each of them on
the backend's own interface (no HTTP, no protocol layer in between), the way a protocol
handler calls it. A backend runs the suite by subclassing :class:`BackendContract` and
providing a ``contract`` fixture that yields a :class:`BackendUnderTest` over empty storage:

* ``tests/unit/scim/test_backend_contract.py``: the memory backend (``scim.memory``), the
  reference the protocol tests run on;
* ``tests/integration/test_scim_contract.py``: the Keycloak backend on a real realm.

A case a backend is known to break is marked there (``xfail(strict=True)`` with the
reason), never weakened here: the suite is the contract.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from scim2_models import Context, PatchOp, Resource, SearchRequest

from bridge.provisioning.access_schema import ACCESS_RESOURCES, ACCESS_SCHEMA, AccessExtension
from scim import errors, quirks
from scim.backend import (
    ALL_ATTRIBUTES,
    Precondition,
    Projection,
    Query,
    QueryResult,
    ScimBackend,
    Subject,
)
from scim.resources import GROUP_SCHEMA, POLICY, USER_SCHEMA, Kind, ServedResources

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
NO_MEMBERS = Projection(excluded_attributes=("members",))


@dataclass
class BackendUnderTest:
    """A backend over empty storage, and the subjects that call it."""

    backend: ScimBackend
    subject: Subject
    """A client bound to no tenant: it sees everything."""
    tenant_a: Subject
    tenant_b: Subject
    unreachable: Callable[[], ScimBackend]
    """A backend of the same kind whose storage cannot be reached."""
    bounded: Callable[[int], ScimBackend]
    """A backend over the same storage that scans at most that many resources."""

    # -- building what the protocol layer hands a backend ---------------------------

    def create_user(self, user_name: str, subject: Subject | None = None,
                    **attributes: Any) -> Resource[Any]:
        payload = {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}
        if any(key == ACCESS_SCHEMA for key in attributes):
            payload["schemas"] = [USER_SCHEMA, ACCESS_SCHEMA]
        return self.backend.create(subject or self.subject, Kind.USER,
                                   new(Kind.USER, payload, self.backend.resources))

    def create_group(self, name: str, members: tuple[str, ...] = (),
                     subject: Subject | None = None) -> Resource[Any]:
        payload = {"schemas": [GROUP_SCHEMA], "displayName": name,
                   "members": [{"value": m} for m in members]}
        return self.backend.create(subject or self.subject, Kind.GROUP,
                                   new(Kind.GROUP, payload, self.backend.resources))

    def get(self, kind: Kind, resource_id: str, subject: Subject | None = None,
            projection: Projection = ALL_ATTRIBUTES) -> Resource[Any] | None:
        return self.backend.get(subject or self.subject, kind, resource_id,
                                projection=projection)

    def replace(self, kind: Kind, resource_id: str, payload: dict[str, Any], *,
                subject: Subject | None = None, if_match: str | None = None
                ) -> Resource[Any]:
        """PUT as the protocol layer does it: read-only attributes copied from the
        current state, then the whole new state handed over."""
        subject = subject or self.subject
        model = self.backend.resources.model(kind)
        replacement = model.model_validate(
            quirks.normalize_replacement(kind, resource_id, payload, model),
            scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY)
        current = self.backend.get(subject, kind, resource_id)
        if current is not None:
            replacement.replace(current)
        return self.backend.replace(subject, kind, resource_id, replacement,
                                    if_match=Precondition.parse(if_match))

    def patch(self, kind: Kind, resource_id: str, operations: list[dict[str, Any]], *,
              subject: Subject | None = None, if_match: str | None = None,
              projection: Projection = ALL_ATTRIBUTES) -> Resource[Any]:
        model: Any = self.backend.resources.model(kind)
        payload = quirks.normalize_patch(
            kind, resource_id, {"schemas": [PATCH_OP], "Operations": operations}, model)
        patch = PatchOp[model].model_validate(
            payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)
        return self.backend.patch(subject or self.subject, kind, resource_id, patch,
                                  if_match=Precondition.parse(if_match),
                                  projection=projection)

    def delete(self, kind: Kind, resource_id: str, *, subject: Subject | None = None,
               if_match: str | None = None) -> None:
        self.backend.delete(subject or self.subject, kind, resource_id,
                            if_match=Precondition.parse(if_match))

    def query(self, kind: Kind, subject: Subject | None = None, **search: Any
              ) -> QueryResult:
        """A list request, as ``GET /Users?filter=…&sortBy=…`` gives it (camelCase keys)."""
        model: Any = self.backend.resources.model(kind)
        request = SearchRequest[model].model_validate(
            {"schemas": [SEARCH_REQUEST], **search}, scim_ctx=Context.SEARCH_REQUEST,
            scim_policy=POLICY)
        query = Query(
            filter=request.filter,
            sort_by=request.sort_by,
            descending=request.sort_order == SearchRequest.SortOrder.descending,
            start_index=request.start_index or 1,
            count=100 if request.count is None else request.count,
            projection=Projection(
                attributes=tuple(str(a) for a in request.attributes or ()),
                excluded_attributes=tuple(str(a) for a in request.excluded_attributes or ())),
            request=request,
        )
        return self.backend.query(subject or self.subject, kind, query)


def new(kind: Kind, payload: dict[str, Any],
        resources: ServedResources = ACCESS_RESOURCES) -> Resource[Any]:
    """A validated resource as a POST hands it to the backend (no id, no meta), validated
    as ``resources`` (by default the bridge's, whose access extension the suite uses)."""
    model = resources.model(kind)
    return model.model_validate(quirks.normalize_resource(kind, payload, model),
                                scim_ctx=Context.RESOURCE_CREATION_REQUEST,
                                scim_policy=POLICY)


@contextmanager
def raises_scim(status: int, scim_type: str | None = None) -> Iterator[None]:
    """The block raises what the client would see as a SCIM Error of ``status``
    (and ``scimType``): a :class:`scim.errors.ScimError` or a scim2-models exception the
    protocol layer translates."""
    try:
        yield
    except Exception as exc:  # translated and checked below
        error = errors.from_exception(exc)
        if error is None:
            raise
        assert (error.status, error.scim_type) == (status, scim_type), error.detail
    else:
        pytest.fail(f"expected a SCIM error {status} {scim_type or ''}")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def member_ids(group: Resource[Any] | None) -> set[str]:
    assert group is not None
    return {m.value for m in group.members or []}


def group_ids(user: Resource[Any] | None) -> set[str]:
    assert user is not None
    return {g.value for g in user.groups or []}


def tenants(user: Resource[Any]) -> list[str]:
    access = user[AccessExtension]
    return list(access.tenants or []) if access is not None else []


def ids(result: QueryResult) -> list[str]:
    return [r.id for r in result.resources]


def user_names(result: QueryResult) -> list[str]:
    return [r.user_name for r in result.resources]


class BackendContract:
    """Every promise of ``scim/backend.py``. Subclasses provide the ``contract`` fixture."""

    # -- copies ----------------------------------------------------------------------

    def test_create_keeps_no_reference_to_the_resource_passed_in(
            self, contract: BackendUnderTest) -> None:
        resource = new(Kind.USER, {"schemas": [USER_SCHEMA], "userName": "copy.in",
                                   "title": "Guide"})
        created = contract.backend.create(contract.subject, Kind.USER, resource)
        resource.title = "Changed by the caller"
        assert resource.id is None and resource.meta is None, "the caller's object was edited"
        stored = contract.get(Kind.USER, created.id)
        assert stored is not None and stored.title == "Guide"

    def test_returned_resources_are_fresh_copies(self, contract: BackendUnderTest) -> None:
        created = contract.create_user("copy.out", title="Guide")
        created.title = "Edited"
        first = contract.get(Kind.USER, created.id)
        assert first is not None and first.title == "Guide"
        first.title = "Edited again"
        listed = contract.query(Kind.USER, filter='userName eq "copy.out"').resources[0]
        assert listed.title == "Guide"
        listed.title = "Edited in a list"
        again = contract.get(Kind.USER, created.id)
        assert again is not None and again.title == "Guide"

    # -- identity and meta -------------------------------------------------------------

    @pytest.mark.parametrize("kind", [Kind.USER, Kind.GROUP])
    def test_create_assigns_id_and_meta(self, contract: BackendUnderTest, kind: Kind) -> None:
        created = (contract.create_user("meta.user") if kind is Kind.USER
                   else contract.create_group("Meta Group"))
        assert created.id
        assert created.meta is not None
        assert created.meta.resource_type == kind.value
        assert created.meta.created is not None and created.meta.last_modified is not None
        assert created.meta.version and created.meta.version.startswith('W/"')
        got = contract.get(kind, created.id)
        assert got is not None and got.id == created.id
        assert got.meta is not None and got.meta.version == created.meta.version

    def test_user_name_is_returned_exactly_as_sent(self, contract: BackendUnderTest) -> None:
        created = contract.create_user("Barbara.Jensen@Example.COM")
        assert created.user_name == "Barbara.Jensen@Example.COM"
        got = contract.get(Kind.USER, created.id)
        assert got is not None and got.user_name == "Barbara.Jensen@Example.COM"

    @pytest.mark.parametrize("kind", [Kind.USER, Kind.GROUP])
    def test_version_changes_when_the_resource_changes(
            self, contract: BackendUnderTest, kind: Kind) -> None:
        if kind is Kind.USER:
            created = contract.create_user("version.user", title="One")
            changed = contract.patch(kind, created.id,
                                     [{"op": "replace", "path": "title", "value": "Two"}])
        else:
            created = contract.create_group("Version Group")
            changed = contract.patch(kind, created.id, [
                {"op": "replace", "path": "displayName", "value": "Version Group 2"}])
        assert changed.meta is not None and created.meta is not None
        assert changed.meta.version != created.meta.version
        got = contract.get(kind, created.id)
        assert got is not None and got.meta is not None
        assert got.meta.version == changed.meta.version

    def test_group_version_changes_when_its_members_change(
            self, contract: BackendUnderTest) -> None:
        user = contract.create_user("version.member")
        group = contract.create_group("Version Members")
        contract.patch(Kind.GROUP, group.id,
                       [{"op": "add", "path": "members", "value": [{"value": user.id}]}])
        after = contract.get(Kind.GROUP, group.id)
        assert member_ids(after) == {user.id}
        assert after is not None and after.meta is not None and group.meta is not None
        assert after.meta.version != group.meta.version

    # -- not found ---------------------------------------------------------------------

    @pytest.mark.parametrize("kind", [Kind.USER, Kind.GROUP])
    def test_get_of_an_absent_resource_is_none(
            self, contract: BackendUnderTest, kind: Kind) -> None:
        assert contract.get(kind, str(uuid.uuid4())) is None

    @pytest.mark.parametrize("kind", [Kind.USER, Kind.GROUP])
    @pytest.mark.parametrize("write", ["replace", "patch", "delete"])
    def test_writes_to_an_absent_resource_raise_not_found(
            self, contract: BackendUnderTest, kind: Kind, write: str) -> None:
        absent = str(uuid.uuid4())
        calls: dict[str, Callable[[], Any]] = {
            "replace": lambda: contract.backend.replace(
                contract.subject, kind, absent,
                new(kind, {"schemas": [USER_SCHEMA], "userName": "ghost"} if kind is Kind.USER
                    else {"schemas": [GROUP_SCHEMA], "displayName": "Ghost"})),
            "patch": lambda: contract.patch(
                kind, absent, [{"op": "replace", "path": "displayName", "value": "Ghost"}]),
            "delete": lambda: contract.delete(kind, absent),
        }
        with raises_scim(404):
            calls[write]()

    # -- uniqueness --------------------------------------------------------------------

    def test_user_name_is_unique_case_insensitively(self, contract: BackendUnderTest) -> None:
        contract.create_user("Unique.Person")
        with raises_scim(409, "uniqueness"):
            contract.create_user("unique.PERSON")
        assert contract.query(Kind.USER, filter='userName eq "unique.person"').total_results == 1

    def test_renaming_a_user_onto_a_taken_user_name_is_refused(
            self, contract: BackendUnderTest) -> None:
        contract.create_user("taken.name")
        other = contract.create_user("free.name")
        with raises_scim(409, "uniqueness"):
            contract.patch(Kind.USER, other.id,
                           [{"op": "replace", "path": "userName", "value": "TAKEN.name"}])
        with raises_scim(409, "uniqueness"):
            contract.replace(Kind.USER, other.id,
                             {"schemas": [USER_SCHEMA], "userName": "Taken.Name"})
        got = contract.get(Kind.USER, other.id)
        assert got is not None and got.user_name == "free.name"

    def test_group_display_name_is_unique_case_insensitively(
            self, contract: BackendUnderTest) -> None:
        contract.create_group("Team Paris")
        other = contract.create_group("Team Lyon")
        with raises_scim(409, "uniqueness"):
            contract.create_group("team PARIS")
        with raises_scim(409, "uniqueness"):
            contract.patch(Kind.GROUP, other.id,
                           [{"op": "replace", "path": "displayName", "value": "TEAM paris"}])
        got = contract.get(Kind.GROUP, other.id)
        assert got is not None and got.display_name == "Team Lyon"

    def test_a_resource_may_change_the_case_of_its_own_name(
            self, contract: BackendUnderTest) -> None:
        user = contract.create_user("case.change")
        renamed = contract.patch(Kind.USER, user.id,
                                 [{"op": "replace", "path": "userName", "value": "Case.Change"}])
        assert renamed.user_name == "Case.Change"
        group = contract.create_group("case group")
        regrouped = contract.patch(Kind.GROUP, group.id, [
            {"op": "replace", "path": "displayName", "value": "Case Group"}])
        assert regrouped.display_name == "Case Group"

    # -- replace ------------------------------------------------------------------------

    def test_replace_stores_the_whole_new_state(self, contract: BackendUnderTest) -> None:
        user = contract.create_user("replace.me", title="Guide", displayName="Replace Me",
                                    externalId="ext-1")
        stored = contract.replace(Kind.USER, user.id, {
            "schemas": [USER_SCHEMA], "userName": "replace.me", "displayName": "Replaced"})
        assert stored.id == user.id
        assert stored.display_name == "Replaced"
        assert stored.title is None and stored.external_id is None
        got = contract.get(Kind.USER, user.id)
        assert got is not None
        assert (got.display_name, got.title, got.external_id) == ("Replaced", None, None)
        assert got.meta is not None and user.meta is not None
        assert got.meta.created == user.meta.created

    def test_replace_of_a_group_sets_its_members(self, contract: BackendUnderTest) -> None:
        first = contract.create_user("replace.first")
        second = contract.create_user("replace.second")
        group = contract.create_group("Replace Members", (first.id,))
        stored = contract.replace(Kind.GROUP, group.id, {
            "schemas": [GROUP_SCHEMA], "displayName": "Replace Members 2",
            "members": [{"value": second.id}]})
        assert stored.display_name == "Replace Members 2"
        assert member_ids(stored) == {second.id}
        assert member_ids(contract.get(Kind.GROUP, group.id)) == {second.id}

    def test_replace_naming_an_absent_member_changes_nothing(
            self, contract: BackendUnderTest) -> None:
        first = contract.create_user("replace.kept")
        second = contract.create_user("replace.valid")
        group = contract.create_group("Replace Absent", (first.id,))
        with raises_scim(400, "invalidValue"):
            contract.replace(Kind.GROUP, group.id, {
                "schemas": [GROUP_SCHEMA], "displayName": "Replace Absent 2",
                "members": [{"value": second.id}, {"value": str(uuid.uuid4())}]})
        got = contract.get(Kind.GROUP, group.id)
        assert got.display_name == "Replace Absent"
        assert member_ids(got) == {first.id}

    # -- patch -------------------------------------------------------------------------

    def test_patch_applies_add_replace_and_remove(self, contract: BackendUnderTest) -> None:
        user = contract.create_user("patch.me", title="Guide", displayName="Patch Me")
        patched = contract.patch(Kind.USER, user.id, [
            {"op": "replace", "path": "displayName", "value": "Patched"},
            {"op": "add", "path": "emails",
             "value": [{"value": "patch.me@example.com", "type": "work"}]},
            {"op": "remove", "path": "title"},
        ])
        assert patched.display_name == "Patched"
        assert patched.title is None
        assert [e.value for e in patched.emails or []] == ["patch.me@example.com"]
        got = contract.get(Kind.USER, user.id)
        assert got is not None
        assert (got.display_name, got.title) == ("Patched", None)
        assert [e.value for e in got.emails or []] == ["patch.me@example.com"]

    def test_a_failing_patch_changes_nothing(self, contract: BackendUnderTest) -> None:
        user = contract.create_user("atomic.patch", title="Guide")
        with raises_scim(400, "invalidValue"):  # the second operation fails when applied
            contract.patch(Kind.USER, user.id, [
                {"op": "replace", "path": "title", "value": "Changed"},
                {"op": "replace", "path": "name.givenName", "value": 42},
            ])
        got = contract.get(Kind.USER, user.id)
        assert got is not None and got.title == "Guide"
        assert got.meta is not None and user.meta is not None
        assert got.meta.version == user.meta.version

    # -- group members -------------------------------------------------------------------

    def test_group_created_with_members(self, contract: BackendUnderTest) -> None:
        first = contract.create_user("member.one", displayName="Member One")
        second = contract.create_user("member.two")
        group = contract.create_group("With Members", (first.id, second.id))
        assert member_ids(group) == {first.id, second.id}
        got = contract.get(Kind.GROUP, group.id)
        assert member_ids(got) == {first.id, second.id}
        assert got is not None
        by_id = {m.value: m for m in got.members or []}
        assert {m.type for m in by_id.values()} == {"User"}
        # display is computed: the user's displayName, else its userName
        assert (by_id[first.id].display, by_id[second.id].display) == ("Member One",
                                                                       "member.two")
        assert str(by_id[first.id].ref).endswith(f"Users/{first.id}")
        user = contract.get(Kind.USER, first.id)
        assert group_ids(user) == {group.id}
        assert user is not None and user.groups is not None
        assert user.groups[0].display == "With Members"
        assert str(user.groups[0].ref).endswith(f"Groups/{group.id}")

    def test_group_create_with_an_absent_member_stores_nothing(
            self, contract: BackendUnderTest) -> None:
        user = contract.create_user("member.real")
        with raises_scim(400, "invalidValue"):
            contract.create_group("Half Written", (user.id, str(uuid.uuid4())))
        assert contract.query(Kind.GROUP, filter='displayName eq "Half Written"'
                              ).total_results == 0
        assert group_ids(contract.get(Kind.USER, user.id)) == set()

    def test_members_added_and_removed_by_patch(self, contract: BackendUnderTest) -> None:
        first = contract.create_user("patch.member.one")
        second = contract.create_user("patch.member.two")
        group = contract.create_group("Patch Members", (first.id,))
        added = contract.patch(Kind.GROUP, group.id, [
            {"op": "add", "path": "members", "value": [{"value": second.id}]}])
        assert member_ids(added) == {first.id, second.id}
        removed = contract.patch(Kind.GROUP, group.id, [
            {"op": "remove", "path": f'members[value eq "{first.id}"]'}])
        assert member_ids(removed) == {second.id}
        assert member_ids(contract.get(Kind.GROUP, group.id)) == {second.id}
        assert group_ids(contract.get(Kind.USER, first.id)) == set()
        assert group_ids(contract.get(Kind.USER, second.id)) == {group.id}

    def test_adding_a_present_member_or_removing_an_absent_one_is_a_no_op(
            self, contract: BackendUnderTest) -> None:
        user = contract.create_user("noop.member")
        stranger = contract.create_user("noop.stranger")
        group = contract.create_group("No-op Members", (user.id,))
        contract.patch(Kind.GROUP, group.id, [
            {"op": "add", "path": "members", "value": [{"value": user.id}]},
            {"op": "remove", "path": f'members[value eq "{stranger.id}"]'}])
        assert member_ids(contract.get(Kind.GROUP, group.id)) == {user.id}

    def test_adding_an_absent_member_is_invalid_and_changes_nothing(
            self, contract: BackendUnderTest) -> None:
        user = contract.create_user("valid.member")
        group = contract.create_group("Absent Member")
        with raises_scim(400, "invalidValue"):
            contract.patch(Kind.GROUP, group.id, [
                {"op": "add", "path": "members",
                 "value": [{"value": user.id}, {"value": str(uuid.uuid4())}]}])
        assert member_ids(contract.get(Kind.GROUP, group.id)) == set()

    def test_replacing_the_member_list_by_patch(self, contract: BackendUnderTest) -> None:
        first = contract.create_user("list.one")
        second = contract.create_user("list.two")
        group = contract.create_group("Member List", (first.id,))
        contract.patch(Kind.GROUP, group.id, [
            {"op": "replace", "path": "members", "value": [{"value": second.id}]}])
        assert member_ids(contract.get(Kind.GROUP, group.id)) == {second.id}
        contract.patch(Kind.GROUP, group.id, [{"op": "remove", "path": "members"}])
        assert member_ids(contract.get(Kind.GROUP, group.id)) == set()

    # -- delete ------------------------------------------------------------------------

    def test_deleting_a_user_takes_its_memberships_with_it(
            self, contract: BackendUnderTest) -> None:
        user = contract.create_user("delete.me")
        kept = contract.create_user("delete.kept")
        group = contract.create_group("Delete Members", (user.id, kept.id))
        contract.delete(Kind.USER, user.id)
        assert contract.get(Kind.USER, user.id) is None
        assert member_ids(contract.get(Kind.GROUP, group.id)) == {kept.id}
        with raises_scim(404):
            contract.delete(Kind.USER, user.id)

    def test_deleting_a_group_leaves_its_members(self, contract: BackendUnderTest) -> None:
        user = contract.create_user("group.gone")
        group = contract.create_group("Gone Group", (user.id,))
        contract.delete(Kind.GROUP, group.id)
        assert contract.get(Kind.GROUP, group.id) is None
        assert group_ids(contract.get(Kind.USER, user.id)) == set()

    # -- preconditions -------------------------------------------------------------------

    @pytest.mark.parametrize("kind", [Kind.USER, Kind.GROUP])
    @pytest.mark.parametrize("write", ["replace", "patch", "delete"])
    def test_a_stale_if_match_is_refused_and_changes_nothing(
            self, contract: BackendUnderTest, kind: Kind, write: str) -> None:
        if kind is Kind.USER:
            resource = contract.create_user("if.match", title="One")
            body = {"schemas": [USER_SCHEMA], "userName": "if.match", "title": "Two"}
            operation = {"op": "replace", "path": "title", "value": "Two"}
        else:
            resource = contract.create_group("If Match")
            body = {"schemas": [GROUP_SCHEMA], "displayName": "If Match 2"}
            operation = {"op": "replace", "path": "displayName", "value": "If Match 2"}
        stale = 'W/"not-the-version"'
        with raises_scim(412):
            if write == "replace":
                contract.replace(kind, resource.id, body, if_match=stale)
            elif write == "patch":
                contract.patch(kind, resource.id, [operation], if_match=stale)
            else:
                contract.delete(kind, resource.id, if_match=stale)
        got = contract.get(kind, resource.id)
        assert got is not None and got.meta is not None and resource.meta is not None
        assert got.meta.version == resource.meta.version

    @pytest.mark.parametrize("kind", [Kind.USER, Kind.GROUP])
    def test_the_current_version_weak_or_strong_or_star_is_admitted(
            self, contract: BackendUnderTest, kind: Kind) -> None:
        if kind is Kind.USER:
            resource = contract.create_user("if.match.ok", title="One")
            path, values = "title", ("Two", "Three", "Four")
        else:
            resource = contract.create_group("If Match OK")
            path, values = "displayName", ("If Match OK 2", "If Match OK 3", "If Match OK 4")
        assert resource.meta is not None and resource.meta.version
        weak = resource.meta.version
        changed = contract.patch(kind, resource.id,
                                 [{"op": "replace", "path": path, "value": values[0]}],
                                 if_match=weak)
        assert changed.meta is not None and changed.meta.version
        strong = changed.meta.version.removeprefix("W/")
        changed = contract.patch(kind, resource.id,
                                 [{"op": "replace", "path": path, "value": values[1]}],
                                 if_match=strong)
        contract.patch(kind, resource.id,
                       [{"op": "replace", "path": path, "value": values[2]}], if_match="*")
        assert changed.meta is not None
        contract.delete(kind, resource.id, if_match="*")
        assert contract.get(kind, resource.id) is None

    # -- query ----------------------------------------------------------------------------

    def _five_users(self, contract: BackendUnderTest) -> list[Resource[Any]]:
        names = ["carol", "Alice", "eve", "bob", "Dave"]
        return [contract.create_user(f"{name}@query.test", externalId=f"X-{name}",
                                     title="even" if i % 2 == 0 else "odd")
                for i, name in enumerate(names)]

    def test_query_filters_and_counts_every_match(self, contract: BackendUnderTest) -> None:
        users = self._five_users(contract)
        contract.create_user("outsider@elsewhere.test")
        by_name = contract.query(Kind.USER, filter='userName eq "ALICE@query.test"')
        assert user_names(by_name) == ["Alice@query.test"]
        assert by_name.total_results == 1
        by_external = contract.query(Kind.USER, filter='externalId eq "X-eve"')
        assert ids(by_external) == [users[2].id]
        assert contract.query(Kind.USER, filter='externalId eq "x-eve"').total_results == 0, \
            "externalId is caseExact"
        scanned = contract.query(Kind.USER, filter='userName ew "@query.test" and title eq "even"')
        assert sorted(user_names(scanned)) == sorted(
            ["carol@query.test", "eve@query.test", "Dave@query.test"])
        assert scanned.total_results == 3
        assert contract.query(Kind.USER, filter='userName eq "nobody@query.test"'
                              ).total_results == 0
        assert contract.query(Kind.USER).total_results == 6

    def test_query_filter_operators(self, contract: BackendUnderTest) -> None:
        users = self._five_users(contract)
        contract.create_user("mail@query.test", emails=[{"value": "Someone@Example.com",
                                                         "type": "work"}],
                             **{ACCESS_SCHEMA: {"tenants": ["t-1", "t-2"]}})

        def names(search: str) -> list[str]:
            result = contract.query(Kind.USER, filter=search, sortBy="userName")
            assert result.total_results == len(result.resources)
            return [n.split("@")[0] for n in user_names(result)]

        assert names('title eq "odd" or userName sw "eve"') == ["Alice", "bob", "eve"]
        assert names('not (title eq "even") and title pr') == ["Alice", "bob"]
        assert names("title pr") == ["Alice", "bob", "carol", "Dave", "eve"]
        assert names('emails.value eq "someone@example.COM"') == ["mail"]
        assert names(f'{ACCESS_SCHEMA}:tenants eq "t-2"') == ["mail"]
        assert names(f'externalId eq "X-bob" or id eq "{users[0].id}"') == ["bob", "carol"]

    def test_users_filtered_by_group(self, contract: BackendUnderTest) -> None:
        inside = contract.create_user("inside@group.test")
        contract.create_user("outside@group.test")
        group = contract.create_group("Filter Group", (inside.id,))
        result = contract.query(Kind.USER, filter=f'groups.value eq "{group.id}"')
        assert ids(result) == [inside.id] and result.total_results == 1

    def test_a_scan_beyond_the_bound_is_too_many_never_a_wrong_page(
            self, contract: BackendUnderTest) -> None:
        self._five_users(contract)
        bounded = contract.bounded(2)
        query = contract.query

        def bounded_query(**search: Any) -> QueryResult:
            contract.backend, original = bounded, contract.backend
            try:
                return query(Kind.USER, **search)
            finally:
                contract.backend = original

        with raises_scim(400, "tooMany"):
            bounded_query(filter='title eq "odd"')
        found = bounded_query(filter='userName eq "bob@query.test"')
        assert user_names(found) == ["bob@query.test"] and found.total_results == 1

    def test_query_pages_are_exact_stable_and_complete(
            self, contract: BackendUnderTest) -> None:
        users = self._five_users(contract)
        every = {u.id for u in users}
        pages = [contract.query(Kind.USER, filter='userName ew "@query.test"',
                                startIndex=start, count=2) for start in (1, 3, 5)]
        assert [len(p.resources) for p in pages] == [2, 2, 1]
        assert all(p.total_results == 5 for p in pages)
        seen = [i for p in pages for i in ids(p)]
        assert len(seen) == 5 and set(seen) == every, "pages overlap or leave some out"
        again = [i for start in (1, 3, 5) for i in ids(contract.query(
            Kind.USER, filter='userName ew "@query.test"', startIndex=start, count=2))]
        assert again == seen, "the order without sortBy is not stable"
        totals_only = contract.query(Kind.USER, count=0)
        assert totals_only.resources == [] and totals_only.total_results == 5
        past_the_end = contract.query(Kind.USER, startIndex=9, count=2)
        assert past_the_end.resources == [] and past_the_end.total_results == 5

    def test_query_sorts_ascending_and_descending(self, contract: BackendUnderTest) -> None:
        self._five_users(contract)
        expected = ["Alice", "bob", "carol", "Dave", "eve"]
        ascending = contract.query(Kind.USER, sortBy="userName")
        assert [n.split("@")[0] for n in user_names(ascending)] == expected
        descending = contract.query(Kind.USER, sortBy="userName", sortOrder="descending",
                                    startIndex=2, count=2)
        assert [n.split("@")[0] for n in user_names(descending)] == ["Dave", "carol"]
        assert descending.total_results == 5

    def test_query_of_groups(self, contract: BackendUnderTest) -> None:
        user = contract.create_user("group.query")
        paris = contract.create_group("Query Paris", (user.id,))
        contract.create_group("Query Lyon")
        contract.create_group("Other Nantes")
        by_name = contract.query(Kind.GROUP, filter='displayName eq "query PARIS"')
        assert ids(by_name) == [paris.id] and by_name.total_results == 1
        prefixed = contract.query(Kind.GROUP, filter='displayName sw "Query"',
                                  sortBy="displayName")
        assert [g.display_name for g in prefixed.resources] == ["Query Lyon", "Query Paris"]
        by_member = contract.query(Kind.GROUP, filter=f'members.value eq "{user.id}"')
        assert ids(by_member) == [paris.id]
        assert contract.query(Kind.GROUP, count=0).total_results == 3

    # -- projections ------------------------------------------------------------------------

    def test_projection_including_members_loads_them(self, contract: BackendUnderTest) -> None:
        user = contract.create_user("projection.member")
        group = contract.create_group("Projection", (user.id,))
        wanted = Projection(attributes=("members",))
        assert member_ids(contract.get(Kind.GROUP, group.id, projection=wanted)) == {user.id}
        listed = contract.query(Kind.GROUP, filter='displayName eq "Projection"',
                                attributes=["members"])
        assert member_ids(listed.resources[0]) == {user.id}
        patched = contract.patch(Kind.GROUP, group.id, [
            {"op": "replace", "path": "displayName", "value": "Projection 2"}],
            projection=wanted)
        assert member_ids(patched) == {user.id}
        # Excluding members may leave them out; it never changes what is stored.
        without = contract.get(Kind.GROUP, group.id, projection=NO_MEMBERS)
        assert without is not None and without.display_name == "Projection 2"
        assert member_ids(contract.get(Kind.GROUP, group.id)) == {user.id}

    # -- tenancy ------------------------------------------------------------------------------

    def test_a_tenant_bound_subject_creates_in_its_tenant(
            self, contract: BackendUnderTest) -> None:
        user = contract.create_user("tenant.made", subject=contract.tenant_a)
        assert tenants(user) == ["tenant-a"]
        got = contract.get(Kind.USER, user.id)
        assert got is not None and tenants(got) == ["tenant-a"]

    def test_a_tenant_bound_subject_may_not_assign_another_tenant(
            self, contract: BackendUnderTest) -> None:
        with raises_scim(403):
            contract.create_user("tenant.foreign", subject=contract.tenant_a,
                                 **{ACCESS_SCHEMA: {"tenants": ["tenant-b"]}})
        assert contract.query(Kind.USER, filter='userName eq "tenant.foreign"'
                              ).total_results == 0

    def test_a_tenant_bound_subject_sees_only_its_tenant(
            self, contract: BackendUnderTest) -> None:
        mine = contract.create_user("tenant.mine", subject=contract.tenant_a)
        theirs = contract.create_user("tenant.theirs", subject=contract.tenant_b)
        unbound = contract.create_user("tenant.none")
        a, b = contract.tenant_a, contract.tenant_b
        assert contract.get(Kind.USER, mine.id, subject=a) is not None
        assert contract.get(Kind.USER, theirs.id, subject=a) is None
        assert contract.get(Kind.USER, unbound.id, subject=a) is None
        assert ids(contract.query(Kind.USER, subject=a)) == [mine.id]
        assert contract.query(Kind.USER, subject=a).total_results == 1
        assert contract.query(Kind.USER, subject=a,
                              filter='userName eq "tenant.theirs"').total_results == 0
        assert ids(contract.query(Kind.USER, subject=b, sortBy="userName")) == [theirs.id]
        assert contract.query(Kind.USER).total_results == 3

    def test_a_tenant_bound_subject_cannot_change_another_tenants_user(
            self, contract: BackendUnderTest) -> None:
        theirs = contract.create_user("tenant.other", subject=contract.tenant_b, title="Kept")
        a = contract.tenant_a
        with raises_scim(404):
            contract.patch(Kind.USER, theirs.id,
                           [{"op": "replace", "path": "title", "value": "Taken"}], subject=a)
        with raises_scim(404):
            contract.backend.replace(a, Kind.USER, theirs.id, new(
                Kind.USER, {"schemas": [USER_SCHEMA], "userName": "tenant.other"}))
        with raises_scim(404):
            contract.delete(Kind.USER, theirs.id, subject=a)
        got = contract.get(Kind.USER, theirs.id)
        assert got is not None and got.title == "Kept" and tenants(got) == ["tenant-b"]

    def test_groups_are_seen_only_by_their_tenant(self, contract: BackendUnderTest) -> None:
        a, b = contract.tenant_a, contract.tenant_b
        member = contract.create_user("tenant.group.member", subject=a)
        group = contract.create_group("Tenant A Team", (member.id,), subject=a)
        assert member_ids(contract.get(Kind.GROUP, group.id, subject=a)) == {member.id}
        assert contract.get(Kind.GROUP, group.id, subject=b) is None
        assert contract.query(Kind.GROUP, subject=b).total_results == 0
        assert ids(contract.query(Kind.GROUP, subject=a)) == [group.id]
        with raises_scim(404):
            contract.patch(Kind.GROUP, group.id, [
                {"op": "replace", "path": "displayName", "value": "Taken by B"}], subject=b)
        with raises_scim(404):
            contract.delete(Kind.GROUP, group.id, subject=b)
        assert contract.get(Kind.GROUP, group.id) is not None

    def test_a_tenant_bound_subject_cannot_add_another_tenants_user_to_a_group(
            self, contract: BackendUnderTest) -> None:
        a, b = contract.tenant_a, contract.tenant_b
        theirs = contract.create_user("tenant.not.mine", subject=b)
        with raises_scim(400, "invalidValue"):
            contract.create_group("Tenant A Grab", (theirs.id,), subject=a)
        group = contract.create_group("Tenant A Own", subject=a)
        with raises_scim(400, "invalidValue"):
            contract.patch(Kind.GROUP, group.id, [
                {"op": "add", "path": "members", "value": [{"value": theirs.id}]}], subject=a)
        assert member_ids(contract.get(Kind.GROUP, group.id)) == set()
        assert group_ids(contract.get(Kind.USER, theirs.id)) == set()

    def test_a_user_of_two_tenants_keeps_the_other_tenant(
            self, contract: BackendUnderTest) -> None:
        """A client bound to one tenant never takes a shared user away from another one:
        neither its writes (403) nor its DELETE remove the other tenant's hold."""
        shared = contract.create_user("tenant.shared", title="Kept",
                                      **{ACCESS_SCHEMA: {"tenants": ["tenant-a", "tenant-b"]}})
        a = contract.tenant_a
        assert contract.get(Kind.USER, shared.id, subject=a) is not None
        with raises_scim(403):
            contract.patch(Kind.USER, shared.id,
                           [{"op": "replace", "path": "title", "value": "Changed"}], subject=a)
        with raises_scim(403):
            contract.delete(Kind.USER, shared.id, subject=a)
        got = contract.get(Kind.USER, shared.id)
        assert got is not None and got.title == "Kept"
        assert sorted(tenants(got)) == ["tenant-a", "tenant-b"]

    # -- failures -------------------------------------------------------------------------

    @pytest.mark.parametrize("call", ["get", "query", "create", "replace", "patch", "delete"])
    def test_unreachable_storage_is_503_with_retry_after(
            self, contract: BackendUnderTest, call: str) -> None:
        backend, subject = contract.unreachable(), contract.subject
        some_id = str(uuid.uuid4())
        user = new(Kind.USER, {"schemas": [USER_SCHEMA], "userName": "unreachable"})
        model: Any = ACCESS_RESOURCES.user
        patch = PatchOp[model].model_validate(
            {"schemas": [PATCH_OP],
             "Operations": [{"op": "replace", "path": "title", "value": "x"}]},
            scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY)
        calls: dict[str, Callable[[], Any]] = {
            "get": lambda: backend.get(subject, Kind.USER, some_id),
            "query": lambda: backend.query(subject, Kind.USER, Query(None, None, False, 1, 10)),
            "create": lambda: backend.create(subject, Kind.USER, user),
            "replace": lambda: backend.replace(subject, Kind.USER, some_id, user),
            "patch": lambda: backend.patch(subject, Kind.USER, some_id, patch),
            "delete": lambda: backend.delete(subject, Kind.USER, some_id),
        }
        with pytest.raises(Exception) as raised:  # translated below
            calls[call]()
        error = errors.from_exception(raised.value)
        assert error is not None, raised.value
        status, _, headers = error.render()
        assert status == 503 and int(headers["Retry-After"]) > 0
