// The JavaScript `Generation` object, made in one call from wasm (see generation_to_js in
// results.rs): an object literal with every field at once, and the token array gathered from
// the model's token strings by id, instead of one call into JavaScript per field and per token.
const STOP_REASONS = ['max_tokens', 'sentence_end', 'cancelled'];

export function generation(text, strings, ids, tokens, elapsedMs, tokensPerSecond, sparsity,
  patternsActivated, patternsTotal, cacheHits, cacheMisses, cacheHitRate, seed, stopReason, exact) {
  const list = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) list[i] = strings[ids[i]];
  return {
    text,
    tokens: list,
    stats: {
      tokens,
      elapsedMs,
      tokensPerSecond,
      sparsity,
      patternsActivated,
      patternsTotal,
      cacheHits,
      cacheMisses,
      cacheHitRate: cacheHitRate === undefined ? null : cacheHitRate,
      seed,
      stopReason: STOP_REASONS[stopReason],
      exact,
    },
  };
}
