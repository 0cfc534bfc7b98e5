"""The fields of a Remote, with the labels the form shows."""

from zope import schema
from zope.interface import Interface
from zope.schema.vocabulary import SimpleTerm
from zope.schema.vocabulary import SimpleVocabulary

from senaite_style_sync import _


TYPES_VOCABULARY = "plone.app.vocabularies.ReallyUserFriendlyTypes"


def _types_field(title: str, description: str) -> schema.List:
    return schema.List(
        title=title,
        description=description,
        value_type=schema.Choice(vocabulary=TYPES_VOCABULARY),
        required=False,
        default=[],
        missing_value=[],
    )


class IRemote(Interface):
    """A peer Plone site this site syncs from."""

    name = schema.ASCIILine(
        title=_("Domain Name"),
        description=_("Unique name of this remote; letters, digits, '-' and '_' only."),
        required=True,
    )
    url = schema.TextLine(
        title=_("Source URL"),
        description=_("Root URL of the peer Plone site, e.g. https://lab1.example.org/Plone"),
        required=True,
    )
    username = schema.TextLine(
        title=_("Username"),
        description=_("Account on the peer used to read its REST API."),
        required=False,
        default="",
        missing_value="",
    )
    password = schema.Password(
        title=_("Password"),
        description=_("Stored encrypted. Leave empty when editing to keep the stored password."),
        required=False,
        default="",
        missing_value="",
    )
    certificate_path = schema.TextLine(
        title=_("Certificate Path"),
        description=_("Optional CA bundle file to trust a peer with a self-signed certificate."),
        required=False,
        default="",
        missing_value="",
    )
    import_settings = schema.Bool(
        title=_("Import Settings"),
        description=_("Import Plone's own control-panel settings from the peer."),
        required=False,
        default=False,
    )
    import_registry = schema.Bool(
        title=_("Import Registry"),
        description=_("Import registry records from the peer."),
        required=False,
        default=False,
    )
    import_users = schema.Bool(
        title=_("Import Users"),
        description=_("Import users and groups from the peer."),
        required=False,
        default=False,
    )
    registry_prefixes = schema.List(
        title=_("Registry prefixes"),
        description=_(
            "With Import Registry: the registry records whose names start with one of these "
            "prefixes (one per line), e.g. my.addon.settings."
        ),
        value_type=schema.TextLine(),
        required=False,
        default=[],
        missing_value=[],
    )
    allow_manager_role = schema.Bool(
        title=_("Allow the Manager role"),
        description=_("With Import Users: give imported users and groups the Manager role where the peer does."),
        required=False,
        default=False,
    )
    remote_prefix = schema.ASCIILine(
        title=_("Remote's Prefix"),
        description=_("Prefix given to the ids of Prefixable Content Types; letters, digits, '-' and '_' only."),
        required=False,
        default="",
        missing_value="",
    )
    local_prefix = schema.ASCIILine(
        title=_("Local Prefix"),
        description=_("Marks ids of objects that originated on this site (used by Update-Only Content Types)."),
        required=False,
        default="",
        missing_value="",
    )
    full_sync_types = _types_field(
        _("Full Sync Content Types"),
        _("Types to sync; none selected means all types."),
    )
    skipped_types = _types_field(
        _("Content Types to be Skipped"),
        _("Types never synced (still created as parents when a synced object needs them)."),
    )
    prefixable_types = _types_field(
        _("Prefixable Content Types"),
        _("Types whose ids get the Remote's Prefix."),
    )
    readonly_types = _types_field(
        _("Read-Only Content Types"),
        _("Types whose copies nobody may edit locally; only the sync changes them."),
    )
    update_only_types = _types_field(
        _("Update-Only Content Types"),
        _("Types for which only objects that originated here (Local Prefix) come back."),
    )
    conflict_policy = schema.Choice(
        title=_("Conflict policy"),
        description=_(
            "An object changed here and on the peer since the last sync: skip it and record the "
            "conflict, let the peer's version win, or keep the local version."
        ),
        vocabulary=SimpleVocabulary(
            [
                SimpleTerm("skip", title=_("Skip and record the conflict")),
                SimpleTerm("remote", title=_("Remote wins")),
                SimpleTerm("local", title=_("Local wins")),
            ]
        ),
        required=True,
        default="skip",
    )
    max_delete_percent = schema.Int(
        title=_("Deletion limit (%)"),
        description=_(
            "A Get Updates or Import that would delete more than this share of the remote's "
            "synced copies deletes nothing until you confirm it on the run's page. 0: no limit."
        ),
        required=False,
        default=10,
        min=0,
        max=100,
    )
    auto_sync = schema.Bool(
        title=_("Auto-Sync"),
        description=_("Run Get Updates on a schedule."),
        required=False,
        default=False,
    )
    auto_sync_interval = schema.Int(
        title=_("Auto-Sync interval (minutes)"),
        required=False,
        default=60,
    )
    bundle_key = schema.Password(
        title=_("Bundle key"),
        description=_(
            "A secret both sites share, of at least 16 characters: it signs the bundles this site writes "
            "for the other one and checks those it reads from it. Stored encrypted. Leave empty when "
            "editing to keep the stored key."
        ),
        required=False,
        default="",
        missing_value="",
    )
    push = schema.Bool(
        title=_("Push"),
        description=_(
            "The other site cannot reach this one: Push sends it this site's changes, to its Remote of "
            "the same name, and Auto-Sync pushes instead of pulling."
        ),
        required=False,
        default=False,
    )


TYPE_RULE_FIELDS = (
    "full_sync_types",
    "skipped_types",
    "prefixable_types",
    "readonly_types",
    "update_only_types",
)
BOOL_FIELDS = ("import_settings", "import_registry", "import_users", "allow_manager_role", "auto_sync", "push")
LIST_FIELDS = TYPE_RULE_FIELDS + ("registry_prefixes",)
TEXT_FIELDS = ("name", "url", "username", "certificate_path", "remote_prefix", "local_prefix", "conflict_policy")
CONFLICT_POLICIES = ("skip", "remote", "local")
# Secrets, stored apart, encrypted, and never shown.
SECRET_FIELDS = ("password", "bundle_key")
# Every field stored on a Remote as a plain attribute.
SETTINGS_FIELDS = tuple(name for name in IRemote.names(all=False) if name not in SECRET_FIELDS)
