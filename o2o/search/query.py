"""Reading a query: words, places named and words ignored; Chinese runs segmented by jieba,
told the index's own brands, places, roads and malls (a mixin of :class:`SearchIndex`)."""

from __future__ import annotations

from .text import has_cjk, normalise, runs

from .docs import _TOKENIZER_LOCK, _TOKENIZER_WORDS, CATEGORY_WORDS, STOP_WORDS, Query, _shared_tokenizer


class QueryParsing:
    """What :class:`o2o.search.index.SearchIndex` understands of a query."""

    def parse(self, text: str) -> Query:
        """Words and places of a query, as :func:`search` understands it."""
        query = Query()
        words = runs(normalise(text))
        i = 0
        while i < len(words):
            word = words[i]
            if not has_cjk(word):
                # Pinyin typed with spaces (``you yi ku``, ``hang zhou``): join the Latin words
                # that follow when together they name something.
                j = i + 1
                while j < len(words) and not has_cjk(words[j]):
                    j += 1
                joined = None
                for end in range(j, i + 1, -1):
                    cand = "".join(words[i:end])
                    if cand in self._alias or self.gazetteer.is_place_word(cand):
                        joined = (cand, end)
                        break
                if joined:
                    self._add_word(query, joined[0])
                    i = joined[1]
                    continue
                self._add_word(query, word)
                i += 1
                continue
            self._add_cjk(query, word)
            i += 1
        return query

    def _add_word(self, query: Query, word: str) -> None:
        places = self.gazetteer.named(word)
        if places:
            query.places.append(places)
        elif word in STOP_WORDS:
            query.ignored.append(word)
        elif not has_cjk(word) and not self.word_matches_anything(word):
            fixed = [t for t in self.fuzzy_terms(word) if self.gazetteer.named(t)]
            if fixed and not self._latin_value_ids(word):
                query.places.append(self.gazetteer.named(fixed[0]))
            else:
                query.clauses.append(word)
        else:
            query.clauses.append(word)

    def _add_cjk(self, query: Query, run: str) -> None:
        if self.gazetteer.is_place_word(run) or self.word_matches_anything(run):
            self._add_word(query, run)
            return
        for word in self.segment(run):
            if len(word) == 1 and word in STOP_WORDS:
                query.ignored.append(word)
            else:
                self._add_word(query, word)

    def segment(self, run: str) -> list[str]:
        """Chinese words of a run (jieba, told the index's brands, places, roads and malls)."""
        return [w for w in self._tokenizer().lcut(run, HMM=True) if w.strip()]

    def _tokenizer(self):
        tokenizer = _shared_tokenizer()
        with _TOKENIZER_LOCK:
            if self._segmenter_words != self._generation:
                # Words already added by another index of this process stay: they are words too.
                known = _TOKENIZER_WORDS
                for word in self._dictionary_words() - known:
                    tokenizer.add_word(word, freq=100_000)
                    known.add(word)
                self._segmenter_words = self._generation
        return tokenizer

    def _dictionary_words(self) -> set[str]:
        words = {v for v in self._values if has_cjk(v) and len(v) >= 2}
        for p in self.gazetteer.places:
            words.add(p.name)
            if len(p.short) >= 2:
                words.add(p.short)
        for zh in CATEGORY_WORDS.values():
            words.update(w for w in zh if has_cjk(w) and len(w) >= 2)
        return words

    def warm(self) -> None:
        """Load the segmenter now (about a second), so the first query does not wait for it."""
        self._tokenizer()
