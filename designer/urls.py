"""The designer's URLs: the pages (page_urls) and the side panel (panel_urls)."""

from designer import page_urls, panel_urls

app_name = "designer"

urlpatterns = [*page_urls.urlpatterns, *panel_urls.urlpatterns]
