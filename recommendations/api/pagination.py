"""Pagination for product lists."""

from rest_framework.pagination import PageNumberPagination


class ProductPagination(PageNumberPagination):
    """``?page=`` and ``?page_size=`` (at most 100); ``PAGE_SIZE`` by default."""

    page_size_query_param = "page_size"
    max_page_size = 100
