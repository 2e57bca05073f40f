#include "trainers/experiment_config.h"

// ExperimentConfig is header-only; this TU makes sure the header compiles on its own.
