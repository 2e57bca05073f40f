#include "editcaption/eval/judge_requests.h"

#include "editcaption/core/hash.h"
#include "editcaption/eval/media.h"

namespace ec::eval {
using ojson = nlohmann::ordered_json;

JudgeRequestSet build_judge_requests(const PairManifest& manifest, const std::map<std::string, std::string>& predictions,
                                     const std::string& candidate_name, const JudgeConfig& cfg) {
  JudgeRequestSet set;
  std::map<std::string, bool> used;
  for (const auto& rec : manifest.records) {
    auto pred = predictions.find(rec.id);
    if (pred == predictions.end()) {
      set.missing_predictions.push_back(rec.id);
      continue;
    }
    used[rec.id] = true;
    std::string gt_text = ground_truth_text(rec.gt, rec.instruction);
    std::string gt_changes = ground_truth_changes(rec.gt, rec.instruction);
    for (auto d : kJudgeDimensions) {
      JudgeRequest r;
      r.id = rec.id;
      r.dimension = d;
      r.request_id = rec.id + ":" + dimension_name(d);
      r.category = rec.category;
      r.source = rec.source;
      r.target = rec.target;
      r.prompt = judge_prompt(d, gt_text, gt_changes, candidate_name, pred->second);
      Sha256 h;
      h.update_field(r.prompt.system).update_field(r.prompt.user);
      h.update_field(r.source.string()).update_field(r.target.string());
      h.update_field(cfg.model).update_field(fmt::format("{}|{}", cfg.temperature, cfg.max_tokens));
      r.hash = h.hex_digest();
      set.requests.push_back(std::move(r));
    }
  }
  for (const auto& [id, text] : predictions) {
    if (!used.count(id)) set.unknown_predictions.push_back(id);
  }
  return set;
}

ojson request_json(const JudgeRequest& r) {
  ojson j;
  j["request_id"] = r.request_id;
  j["id"] = r.id;
  j["dimension"] = dimension_name(r.dimension);
  if (!r.category.empty()) j["category"] = r.category;
  j["images"] = ojson::array({ojson{{"label", kImageALabel}, {"path", r.source.string()}},
                              ojson{{"label", kImageBLabel}, {"path", r.target.string()}}});
  j["system"] = r.prompt.system;
  j["user"] = r.prompt.user;
  j["hash"] = r.hash;
  return j;
}

ojson chat_request_body(const JudgeRequest& r, const JudgeConfig& cfg) {
  ojson user = ojson::array();
  user.push_back({{"type", "text"}, {"text", kImageALabel}});
  user.push_back({{"type", "image_url"}, {"image_url", {{"url", image_data_url(r.source)}}}});
  user.push_back({{"type", "text"}, {"text", kImageBLabel}});
  user.push_back({{"type", "image_url"}, {"image_url", {{"url", image_data_url(r.target)}}}});
  user.push_back({{"type", "text"}, {"text", r.prompt.user}});
  ojson body;
  body["model"] = cfg.model;
  body["messages"] = ojson::array({ojson{{"role", "system"}, {"content", r.prompt.system}},
                                   ojson{{"role", "user"}, {"content", user}}});
  body["temperature"] = cfg.temperature;
  if (cfg.max_tokens > 0) body["max_tokens"] = cfg.max_tokens;
  return body;
}

}  // namespace ec::eval
