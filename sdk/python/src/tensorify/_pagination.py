"""Iterators over the cursor-paginated lists (``?limit=&cursor=`` → ``{<items>, nextCursor}``)."""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable, Generic, Iterator, List, Mapping, Optional, Tuple, TypeVar

T = TypeVar("T")

#: Fetches one page for a cursor (``None``: the first page) and returns its items and the next cursor.
PageFetcher = Callable[[Optional[str]], Tuple[List[T], Optional[str]]]
AsyncPageFetcher = Callable[[Optional[str]], Awaitable[Tuple[List[T], Optional[str]]]]


def split_page(data: Mapping[str, Any], key: str, parse: Callable[[Mapping[str, Any]], T]) -> Tuple[List[T], Optional[str]]:
    """The parsed items under ``key`` and the ``nextCursor`` of one page."""
    return [parse(item) for item in data[key]], data.get("nextCursor")


class Paginator(Generic[T]):
    """Every item of a list, newest first, fetching the next page only when the loop reaches it.

    ``for workflow in client.workflows.list(): …`` walks the whole list; break out to stop early.
    ``next()`` takes items one by one (each ``for`` loop, though, starts again from the first page).
    """

    def __init__(self, fetch: PageFetcher[T]) -> None:
        self._fetch = fetch
        self._items: Optional[Iterator[T]] = None

    def __next__(self) -> T:
        if self._items is None:
            self._items = iter(self)
        return next(self._items)

    def __iter__(self) -> Iterator[T]:
        cursor: Optional[str] = None
        while True:
            items, cursor = self._fetch(cursor)
            yield from items
            if cursor is None:
                return

    def to_list(self) -> List[T]:
        """Every item, all pages fetched."""
        return list(self)


class AsyncPaginator(Generic[T]):
    """Every item of a list, newest first, for ``async for``; pages are fetched as the loop reaches them.

    ``await anext(…)`` (or ``__anext__``) takes items one by one.
    """

    def __init__(self, fetch: AsyncPageFetcher[T]) -> None:
        self._fetch = fetch
        self._items: Optional[AsyncIterator[T]] = None

    async def __anext__(self) -> T:
        if self._items is None:
            self._items = self.__aiter__()
        return await self._items.__anext__()

    async def __aiter__(self) -> AsyncIterator[T]:
        cursor: Optional[str] = None
        while True:
            items, cursor = await self._fetch(cursor)
            for item in items:
                yield item
            if cursor is None:
                return

    async def to_list(self) -> List[T]:
        """Every item, all pages fetched."""
        return [item async for item in self]
