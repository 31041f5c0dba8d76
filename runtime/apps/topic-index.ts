// Which subscribers a published topic reaches, without looking at every subscription: patterns
// with no wildcard sit in a map keyed by the exact topic; patterns with `+` or `#` sit in a trie of
// topic levels. A publish costs one map lookup plus a walk of the trie along the topic's levels
// (a `+` branch beside each literal one), so its cost follows the topic's depth and the patterns
// that share its prefixes, never the number of subscriptions (redteam finding 10: 100k patterns
// made every publish of every vendor cost ~70 ms of the daemon's main thread).
//
// Matching follows grant.ts topicMatches: `+` is one whole level, `#` (last) zero or more levels.

interface TrieNode<K> {
  /** Literal next levels. */
  children?: Map<string, TrieNode<K>>;
  /** The `+` next level. */
  plus?: TrieNode<K>;
  /** Keys of patterns ending here with `/#` (or the pattern `#` at the root). */
  rest?: Set<K>;
  /** Keys of patterns ending exactly here. */
  here?: Set<K>;
}

const isWild = (level: string) => level === '+' || level === '#';

export class TopicIndex<K> {
  readonly #exact = new Map<string, Set<K>>();
  readonly #root: TrieNode<K> = {};
  #size = 0;

  /** Pairs (pattern, key) held. */
  get size(): number {
    return this.#size;
  }

  /** Adds `key` under `pattern` (a valid pattern); false if it was already there. */
  add(pattern: string, key: K): boolean {
    const levels = pattern.split('/');
    let set: Set<K>;
    if (!levels.some(isWild)) {
      set = this.#exact.get(pattern) ?? new Set();
      if (set.size === 0) this.#exact.set(pattern, set);
    } else {
      let node = this.#root;
      const last = levels.length - 1;
      for (let i = 0; i < last; i++) node = TopicIndex.#child(node, levels[i]!);
      if (levels[last] === '#') set = node.rest ??= new Set();
      else set = (TopicIndex.#child(node, levels[last]!).here ??= new Set());
    }
    if (set.has(key)) return false;
    set.add(key);
    this.#size++;
    return true;
  }

  static #child<K>(node: TrieNode<K>, level: string): TrieNode<K> {
    if (level === '+') return (node.plus ??= {});
    const children = (node.children ??= new Map());
    let next = children.get(level);
    if (!next) children.set(level, (next = {}));
    return next;
  }

  /** Removes `key` from `pattern`; nodes left empty go, so a churn of patterns leaves nothing behind. */
  remove(pattern: string, key: K): boolean {
    const levels = pattern.split('/');
    if (!levels.some(isWild)) {
      const set = this.#exact.get(pattern);
      if (!set?.delete(key)) return false;
      if (set.size === 0) this.#exact.delete(pattern);
      this.#size--;
      return true;
    }
    const path: TrieNode<K>[] = [this.#root];
    const last = levels.length - 1;
    const end = levels[last] === '#' ? last : levels.length;
    for (let i = 0; i < end; i++) {
      const node = path[path.length - 1]!;
      const next = levels[i] === '+' ? node.plus : node.children?.get(levels[i]!);
      if (!next) return false;
      path.push(next);
    }
    const node = path[path.length - 1]!;
    const set = end === last ? node.rest : node.here;
    if (!set?.delete(key)) return false;
    this.#size--;
    // Prune from the leaf up while nodes hold nothing.
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i]!;
      if (n.rest?.size === 0) n.rest = undefined;
      if (n.here?.size === 0) n.here = undefined;
      if (n.children?.size === 0) n.children = undefined;
      if (n.rest || n.here || n.children || n.plus) break;
      const parent = path[i - 1]!;
      if (levels[i - 1] === '+') parent.plus = undefined;
      else parent.children!.delete(levels[i - 1]!);
    }
    if (this.#root.rest?.size === 0) this.#root.rest = undefined;
    return true;
  }

  /** Each key with a pattern matching `topic` (a topic without wildcards), once. */
  match(topic: string): Set<K> {
    const out = new Set<K>();
    const exact = this.#exact.get(topic);
    if (exact) for (const k of exact) out.add(k);
    if (!this.#root.children && !this.#root.plus && !this.#root.rest) return out;
    const levels = topic.split('/');
    let states: TrieNode<K>[] = [this.#root];
    for (let i = 0; i < levels.length && states.length > 0; i++) {
      const next: TrieNode<K>[] = [];
      for (const node of states) {
        if (node.rest) for (const k of node.rest) out.add(k);
        const lit = node.children?.get(levels[i]!);
        if (lit) next.push(lit);
        if (node.plus) next.push(node.plus);
      }
      states = next;
    }
    for (const node of states) {
      if (node.rest) for (const k of node.rest) out.add(k);
      if (node.here) for (const k of node.here) out.add(k);
    }
    return out;
  }
}
