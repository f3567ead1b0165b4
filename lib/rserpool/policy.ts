// Pool member selection (RFC 5356) on the pool user's side: given the elements a handle
// resolution returned, which one to use next. One function per policy in one table; each
// keeps what it needs between calls in the pool's SelectionState.
import type { PolicyName, PoolElementParameter } from './asap';

/** What selection remembers about one pool between calls. */
export interface SelectionState {
  /** Selections so far: the clock for "least recently selected". */
  turn: number;
  /** The turn each element was last selected in (never: 0). */
  lastSelected: Map<number, number>;
  /** Smooth weighted round robin's running credit per element. */
  credit: Map<number, number>;
  /** Least-used-with-degradation: the load added per element since its last registration. */
  degradation: Map<number, number>;
}

export function newSelectionState(): SelectionState {
  return { turn: 0, lastSelected: new Map(), credit: new Map(), degradation: new Map() };
}

type Selector = (
  elements: readonly PoolElementParameter[],
  state: SelectionState,
  random: () => number,
) => PoolElementParameter;

/** The element with the least `key`; among equals, the one selected longest ago. */
function least(
  elements: readonly PoolElementParameter[],
  state: SelectionState,
  key: (e: PoolElementParameter) => number,
): PoolElementParameter {
  let best = elements[0]!;
  for (const e of elements.slice(1)) {
    const d = key(e) - key(best);
    if (
      d < 0 ||
      (d === 0 && (state.lastSelected.get(e.id) ?? 0) < (state.lastSelected.get(best.id) ?? 0))
    ) {
      best = e;
    }
  }
  return best;
}

/** An element drawn with probability proportional to `weight` (all 0: uniformly). */
function drawn(
  elements: readonly PoolElementParameter[],
  weight: (e: PoolElementParameter) => number,
  random: () => number,
): PoolElementParameter {
  const weights = elements.map((e) => Math.max(0, weight(e)));
  const total = weights.reduce((a, b) => a + b, 0);
  if (total === 0) return elements[Math.floor(random() * elements.length)]!;
  let r = random() * total;
  for (let i = 0; i < elements.length; i++) {
    r -= weights[i]!;
    if (r < 0) return elements[i]!;
  }
  return elements[elements.length - 1]!;
}

const load = (e: PoolElementParameter) => e.policy.load ?? 0;

const SELECTORS: Record<PolicyName | 'other', Selector> = {
  'round-robin': (elements, state) => least(elements, state, () => 0),
  // Smooth weighted round robin: each turn every element earns its weight, the richest is
  // chosen and pays the total; over a cycle each is chosen weight times, interleaved.
  'weighted-round-robin': (elements, state) => {
    const total = elements.reduce((sum, e) => sum + (e.policy.weight ?? 1), 0);
    for (const e of elements)
      state.credit.set(e.id, (state.credit.get(e.id) ?? 0) + (e.policy.weight ?? 1));
    const chosen = least(elements, state, (e) => -(state.credit.get(e.id) ?? 0));
    state.credit.set(chosen.id, state.credit.get(chosen.id)! - total);
    return chosen;
  },
  random: (elements, _state, random) => drawn(elements, () => 1, random),
  'weighted-random': (elements, _state, random) =>
    drawn(elements, (e) => e.policy.weight ?? 1, random),
  // The highest priority value wins (as RSPLIB orders it); equals in turn.
  priority: (elements, state) => least(elements, state, (e) => -(e.policy.priority ?? 0)),
  'least-used': (elements, state) => least(elements, state, load),
  'least-used-degradation': (elements, state) => {
    const chosen = least(elements, state, (e) => load(e) + (state.degradation.get(e.id) ?? 0));
    state.degradation.set(
      chosen.id,
      (state.degradation.get(chosen.id) ?? 0) + (chosen.policy.loadDegradation ?? 0),
    );
    return chosen;
  },
  'priority-least-used': (elements, state) =>
    least(elements, state, (e) => load(e) + (e.policy.loadDegradation ?? 0)),
  'randomized-least-used': (elements, _state, random) =>
    drawn(elements, (e) => 1 - load(e), random),
  // A type this library does not know: take the elements in turn.
  other: (elements, state) => least(elements, state, () => 0),
};

/**
 * The element to use next among `elements` (not empty), by the pool's policy (the first
 * element's: a registrar keeps a pool to one policy).
 */
export function selectElement(
  elements: readonly PoolElementParameter[],
  state: SelectionState,
  random: () => number = Math.random,
): PoolElementParameter {
  if (elements.length === 0) throw new RangeError('no pool element to select from');
  const chosen = SELECTORS[elements[0]!.policy.name](elements, state, random);
  state.lastSelected.set(chosen.id, ++state.turn);
  return chosen;
}
