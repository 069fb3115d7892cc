// BPE merging. Both paths apply, at each step, the merge with the lowest rank among adjacent
// pairs, taking the leftmost on ties; this is the order HF tokenizers' heap-based Word::merge_all
// produces.
#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <cstring>
#include <memory>

namespace swallow {

BpeModel::BpeModel(Parts parts)
    : vocab_(*parts.tokens, parts.vocab_ids),
      merges_(std::move(parts.merges)),
      byte_ids_(parts.byte_ids),
      ignore_merges_(parts.ignore_merges) {}

BpeModel::ThreadCaches& BpeModel::thread_caches() const {
  thread_local std::unique_ptr<ThreadCaches> caches;
  if (!caches) caches = std::make_unique<ThreadCaches>();
  caches->merges.bind(merges_);
  caches->pieces.bind(merges_.serial());
  return *caches;
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    if (const std::optional<int32_t> id = vocab_.find(piece)) {
      out.push_back(*id);
      return;
    }
  }
  if (piece.size() == 1) {
    out.push_back(byte_ids_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  ThreadCaches& caches = thread_caches();
  const uint64_t hash = hash_bytes(piece);
  if (caches.pieces.find(piece, hash, out)) return;
  const size_t first = out.size();
  if (piece.size() <= kSmallPiece) {
    merge_small(piece, caches.merges, out);
  } else {
    merge_large(piece, caches.merges, out);
  }
  caches.pieces.insert(piece, hash, out.data() + first, out.size() - first);
}

// O(n^2) in the piece length but allocation-free and vectorisable: ranks[i] is the rank of
// merging symbols i and i+1; each step finds the lowest rank, merges, and closes the gap.
void BpeModel::merge_small(std::string_view piece, MergeCache& merges, std::vector<int32_t>& out) const {
  int32_t ids[kSmallPiece];     // [n] token ids of the current symbols
  uint32_t ranks[kSmallPiece];  // [n - 1] rank of merging symbols i and i+1 (kNoRank: none)
  size_t n = piece.size();
  auto set_pair = [&](size_t i) { ranks[i] = merges.rank(ids[i], ids[i + 1]); };
  for (size_t i = 0; i < n; ++i) ids[i] = byte_ids_[static_cast<uint8_t>(piece[i])];
  for (size_t i = 0; i + 1 < n; ++i) set_pair(i);
  while (n > 1) {
    uint32_t best = MergeTable::kNoRank;
    for (size_t i = 0; i + 1 < n; ++i) best = std::min(best, ranks[i]);
    if (best == MergeTable::kNoRank) break;
    size_t k = 0;
    while (ranks[k] != best) ++k;
    ids[k] = merges_.result(best);
    const size_t tail = n - k - 2;  // symbols after the merged pair
    std::memmove(ids + k + 1, ids + k + 2, tail * sizeof(ids[0]));
    std::memmove(ranks + k, ranks + k + 1, tail * sizeof(ranks[0]));
    --n;
    if (k > 0) set_pair(k - 1);
    if (k + 1 < n) set_pair(k);
  }
  out.insert(out.end(), ids, ids + n);
}

namespace {

struct Symbol {
  int32_t id;    // token id, -1 once merged into its left neighbour
  int32_t prev;  // index of the previous live symbol, -1 at the start
  int32_t next;  // index of the next live symbol, -1 at the end
};

struct Candidate {
  uint32_t rank;
  uint32_t pos;  // index of the left symbol
  bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

// O(n log n): a min-heap of candidate merges keyed by (rank, position). Entries whose pair has
// changed since they were pushed are recognised by the pair's current rank and dropped.
void BpeModel::merge_large(std::string_view piece, MergeCache& merges, std::vector<int32_t>& out) const {
  const auto n = static_cast<int32_t>(piece.size());
  std::vector<Symbol> symbols(piece.size());  // [n]
  std::vector<Candidate> heap;
  heap.reserve(piece.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = {byte_ids_[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1};
  }
  for (int32_t i = 0; i + 1 < n; ++i) {
    const uint32_t rank = merges.rank(symbols[i].id, symbols[i + 1].id);
    if (rank != MergeTable::kNoRank) heap.push_back({rank, static_cast<uint32_t>(i)});
  }
  const auto later = std::greater<Candidate>();
  std::make_heap(heap.begin(), heap.end(), later);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.id < 0 || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    if (merges.rank(left.id, right.id) != top.rank) continue;  // stale: the pair changed since
    left.id = merges_.result(top.rank);
    right.id = -1;
    left.next = right.next;
    if (left.next >= 0) symbols[left.next].prev = static_cast<int32_t>(top.pos);
    if (left.prev >= 0) {
      const uint32_t before = merges.rank(symbols[left.prev].id, left.id);
      if (before != MergeTable::kNoRank) {
        heap.push_back({before, static_cast<uint32_t>(left.prev)});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
    if (left.next >= 0) {
      const uint32_t after = merges.rank(left.id, symbols[left.next].id);
      if (after != MergeTable::kNoRank) {
        heap.push_back({after, top.pos});
        std::push_heap(heap.begin(), heap.end(), later);
      }
    }
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace swallow
