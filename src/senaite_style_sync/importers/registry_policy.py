"""Which registry records a peer may set here.

Import Settings takes only the records of SETTINGS: Plone control-panel settings that change
how content is listed, found, dated, translated, marked up and shown, and nothing about
security, logins, registration, HTML filtering, scripts or styles, mail, caching, theming,
or URLs that send users elsewhere. (Plone's site title and logo are left out too: a peer
must not rebrand this site.)

Import Registry takes the records under the administrator's own prefixes, but never one on
DENIED, whatever the prefix: a peer that controls them could run script on every page, turn
off the HTML filter, open self-registration or send logins and mail elsewhere.
"""

SETTINGS = frozenset(
    {
        # Navigation
        "plone.displayed_types",
        "plone.filter_on_workflow",
        "plone.generate_tabs",
        "plone.navigation_depth",
        "plone.nonfolderish_tabs",
        "plone.parent_types_not_to_query",
        "plone.show_excluded_items",
        "plone.sitemap_depth",
        "plone.sort_tabs_on",
        "plone.sort_tabs_reversed",
        "plone.workflow_states_to_show",
        # Search
        "plone.enable_livesearch",
        "plone.search_image_scale",
        "plone.search_results_description_length",
        "plone.search_show_images",
        "plone.sort_on",
        "plone.types_not_searched",
        # Date and time
        "plone.available_timezones",
        "plone.first_weekday",
        "plone.portal_timezone",
        # Language
        "plone.always_show_selector",
        "plone.available_languages",
        "plone.default_language",
        "plone.display_flags",
        "plone.use_combined_language_codes",
        # Markup
        "plone.allowed_types",
        "plone.default_type",
        # Imaging
        "plone.allowed_sizes",
        "plone.highpixeldensity_scales",
        "plone.image_captioning",
        "plone.quality",
        "plone.quality_2x",
        "plone.quality_3x",
        # Social media
        "plone.facebook_app_id",
        "plone.facebook_username",
        "plone.share_social_data",
        "plone.twitter_username",
        # Display of listings and links
        "plone.default_page_types",
        "plone.display_publication_date_in_byline",
        "plone.external_links_open_new_window",
        "plone.icon_visibility",
        "plone.mark_special_links",
        "plone.no_thumbs_lists",
        "plone.no_thumbs_portlet",
        "plone.no_thumbs_summary",
        "plone.no_thumbs_tables",
        "plone.thumb_scale_listing",
        "plone.thumb_scale_portlet",
        "plone.thumb_scale_summary",
        "plone.thumb_scale_table",
        "plone.thumb_visibility",
        "plone.types_use_view_action_in_listings",
    }
)

# Names starting with one of these are never imported, also under an explicit prefix.
DENIED = (
    # script and style on every page, code loaded by name
    "plone.webstats_js",
    "plone.webstats_head_js",
    "plone.custom_plugins",
    "plone.markdown_extensions",
    # the HTML filter
    "plone.disable_filtering",
    "plone.custom_attributes",
    "plone.nasty_tags",
    "plone.valid_tags",
    # security and registration
    "plone.allow_anon_views_about",
    "plone.autologin_after_password_reset",
    "plone.enable_self_reg",
    "plone.enable_user_folders",
    "plone.enable_user_pwd_choice",
    "plone.use_email_as_login",
    "plone.use_uuid_as_userid",
    "plone.user_registration_fields",
    # logins elsewhere
    "plone.allow_external_login_sites",
    "plone.auth_cookie_length",
    "plone.external_login",
    "plone.external_logout_url",
    "plone.verify_login_name",
    # mail
    "plone.email_",
    "plone.smtp_",
)


def is_denied(name: str) -> bool:
    """Whether a record is on the built-in deny-list (never imported, whatever the prefixes)."""
    return name.startswith(DENIED)


def is_setting(name: str) -> bool:
    """Whether Import Settings takes the record ``name``."""
    return name in SETTINGS and not is_denied(name)
