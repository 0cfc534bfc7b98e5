"""@sync-list: the listing of this site with each object's position and what re-dates nothing."""
