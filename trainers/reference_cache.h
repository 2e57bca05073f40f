// Cached DPO reference log-probs: one no-grad pass of the frozen reference over the preference
// set before training, so that training holds a single model. Entries are content-addressed: the
// key of a pair hashes its token ids (prompt, chosen, rejected) and its processed images (pixels and
// grids), so the same pair gets the same entry whatever the manifest, its order or the run; the file
// is named by the reference identity and the settings that change the values (length
// normalisation, dtype, autocast), so a different reference never reads another's numbers.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>

#include "editcaption/data/sample.h"

namespace ec::train {

/// SHA-256 of a pair's tokens and processed images.
std::string pair_content_key(const data::PairSample& pair);

class ReferenceCache {
 public:
  /// Loads <dir>/<hash of identity and settings>.json if it exists.
  ReferenceCache(std::filesystem::path dir, std::string reference_identity, std::string settings);

  bool contains(const std::string& key) const { return entries_.count(key) > 0; }
  /// (chosen, rejected) log-probs; UserError(Input) naming the pair if the cache lacks it.
  std::pair<double, double> get(const std::string& key, const std::string& pair_id) const;
  void put(const std::string& key, double chosen, double rejected) { entries_[key] = {chosen, rejected}; }
  size_t size() const { return entries_.size(); }
  /// Atomic write (one rank).
  void save() const;
  const std::filesystem::path& path() const { return path_; }

  /// Entries as one string and back (exchanged between data-parallel ranks).
  std::string encode() const;
  void merge_encoded(const std::string& encoded);

 private:
  std::filesystem::path path_;
  std::string identity_;
  std::string settings_;
  std::map<std::string, std::pair<double, double>> entries_;
};

}  // namespace ec::train
