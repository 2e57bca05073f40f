// Vocabulary shared by the data pipeline, the models, the trainers and evaluation: model
// families, token ids, image grids, and the paper's taxonomy (edit categories, error types,
// severities).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "editcaption/config/visitor.h"

namespace ec {

/// The Qwen-VL generations editcaption implements. They differ in the vision tower, the text
/// block, the M-RoPE layout, image preprocessing (patch 14 vs 16, CLIP vs 0.5 mean/std) and the
/// chat template (Qwen2/2.5 insert a default system prompt, Qwen3 does not).
enum class ModelFamily { Qwen2VL, Qwen25VL, Qwen3VL };
EC_CONFIG_ENUM(ModelFamily, {{"qwen2_vl", ModelFamily::Qwen2VL},
                             {"qwen2_5_vl", ModelFamily::Qwen25VL},
                             {"qwen3_vl", ModelFamily::Qwen3VL}})

/// Label value for positions that carry no loss (prompt, image tokens, padding).
inline constexpr int64_t kIgnoreIndex = -100;

/// Grid of one image in patches: (t, h, w) as in Hugging Face `image_grid_thw`.
using GridThw = std::array<int64_t, 3>;

/// The ids of the special tokens the chat layout and the model rely on. Qwen tokenizers use the
/// values below; tokenizers trained by editcaption reserve the same strings (other ids).
struct SpecialTokenIds {
  int32_t endoftext = 151643;     ///< <|endoftext|>  (padding, and a stop token)
  int32_t im_start = 151644;      ///< <|im_start|>
  int32_t im_end = 151645;        ///< <|im_end|>     (end of turn, the answer's last label)
  int32_t vision_start = 151652;  ///< <|vision_start|>
  int32_t vision_end = 151653;    ///< <|vision_end|>
  int32_t image_pad = 151655;     ///< <|image_pad|>  (one per merged visual token)
  int32_t video_pad = 151656;     ///< <|video_pad|>
};

/// The paper's edit taxonomy (section 4.1): semantic 25%, stylistic 25%, structural 50%.
enum class EditCategory { Semantic, Stylistic, Structural };
EC_CONFIG_ENUM(EditCategory, {{"semantic", EditCategory::Semantic},
                              {"stylistic", EditCategory::Stylistic},
                              {"structural", EditCategory::Structural}})

/// Failure modes a rejected instruction can carry (paper section 4.2, v2 notes).
enum class ErrorType { Orientation, Viewpoint, Attribute, Subject, Omission, Text, Other };
EC_CONFIG_ENUM(ErrorType, {{"orientation", ErrorType::Orientation},
                           {"viewpoint", ErrorType::Viewpoint},
                           {"attribute", ErrorType::Attribute},
                           {"subject", ErrorType::Subject},
                           {"omission", ErrorType::Omission},
                           {"text", ErrorType::Text},
                           {"other", ErrorType::Other}})

/// Defect severity (paper table 5): P0 critical, P1 major, P2 minor.
enum class Severity { P0, P1, P2 };
EC_CONFIG_ENUM(Severity, {{"P0", Severity::P0}, {"P1", Severity::P1}, {"P2", Severity::P2}})

}  // namespace ec
