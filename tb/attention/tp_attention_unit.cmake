tokenpipe_rtl_test(MODULE tp_attention_unit SOURCES attention/tp_attention_unit_test.cpp
  DEPS tp_exp2 tp_reciprocal tp_weight_port tp_kv_slot_bytes tp_kv_port tp_attention_engine)
if(TARGET tp_attention_unit_test)  # the real-model test reads ../shared/models (golden/tests/real_models.h)
  target_compile_definitions(tp_attention_unit_test PRIVATE TOKENPIPE_MODELS_DIR="${TOKENPIPE_MODELS_DIR}")
endif()
