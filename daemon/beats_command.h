// `scorejam beats`: the online beat tracker and the pianist's pulse measured against the
// hand-annotated beats of a MAESTRO split. Wiring only: the work is in core/beat_evaluation.
#pragma once

#include <string>

#include "daemon/config.h"

namespace scorejam {

struct BeatsCommand {
  std::string data;           // MAESTRO zip or folder; "" = train.data
  std::string beats;          // beats CSV; "" = the one beside the data (<zip without .zip>.beats.csv)
  std::string split = "validation";
  double lead_s = 4;          // how far ahead the predicted beats are judged
  bool per_file = true;       // a line per performance
};

int run_beats(const BeatsCommand& command, const Config& config);

}  // namespace scorejam
