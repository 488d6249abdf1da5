// A string-keyed map that remembers insertion order, for manifest tables whose order
// is observable: Spin keeps components, triggers, variables and environments in file
// order (its maps are IndexMaps), and so must anything that lists or numbers them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gyre::app {

// Few entries (a manifest has tens at most), so lookups scan linearly.
template <class V>
class OrderedMap {
 public:
  using Entry = std::pair<std::string, V>;
  using iterator = typename std::vector<Entry>::iterator;
  using const_iterator = typename std::vector<Entry>::const_iterator;

  OrderedMap() = default;
  OrderedMap(std::initializer_list<Entry> entries) : entries_(entries) {}

  // Inserts at the end, or replaces the value in place if the key is already present.
  V& insert(std::string key, V value) {
    if (V* existing = find(key)) return *existing = std::move(value);
    entries_.emplace_back(std::move(key), std::move(value));
    return entries_.back().second;
  }

  V* find(std::string_view key) {
    for (Entry& e : entries_)
      if (e.first == key) return &e.second;
    return nullptr;
  }
  const V* find(std::string_view key) const {
    for (const Entry& e : entries_)
      if (e.first == key) return &e.second;
    return nullptr;
  }
  bool contains(std::string_view key) const { return find(key) != nullptr; }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const Entry& operator[](size_t index) const { return entries_[index]; }
  Entry& operator[](size_t index) { return entries_[index]; }

  iterator begin() { return entries_.begin(); }
  iterator end() { return entries_.end(); }
  const_iterator begin() const { return entries_.begin(); }
  const_iterator end() const { return entries_.end(); }

  bool operator==(const OrderedMap&) const = default;

 private:
  std::vector<Entry> entries_;
};

}  // namespace gyre::app
