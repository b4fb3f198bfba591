/** One page of a list: its items and the cursor of the next page (`null` at the end). */
export interface Page<Item> {
  items: Item[];
  nextCursor: string | null;
}

/**
 * A list that follows `nextCursor` for you. Iterate it for the items, newest first, across every
 * page (a page is fetched only when the previous one is used up):
 *
 * ```ts
 * for await (const workflow of tensorify.workflows.list()) console.log(workflow.id, workflow.name);
 * ```
 *
 * or take the pages (`for await (const page of list.pages())`), or the first few items
 * (`await list.take(10)`), or all of them (`await list.toArray()`).
 */
export class Paginator<Item> implements AsyncIterable<Item> {
  constructor(private readonly fetchPage: (cursor: string | undefined) => Promise<Page<Item>>) {}

  /** Each page in turn, from the first (or the `cursor` the list was asked for) to the last. */
  async *pages(): AsyncGenerator<Page<Item>, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.fetchPage(cursor);
      yield page;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.pages()) yield* page.items;
  }

  /** The first `count` items (fewer when the list is shorter); fetches no page beyond them. */
  async take(count: number): Promise<Item[]> {
    const items: Item[] = [];
    if (count <= 0) return items;
    for await (const item of this) {
      items.push(item);
      if (items.length >= count) break;
    }
    return items;
  }

  /** Every item of every page. */
  async toArray(): Promise<Item[]> {
    const items: Item[] = [];
    for await (const item of this) items.push(item);
    return items;
  }
}
