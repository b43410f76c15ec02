# The accelerator top: its testbench, and tp_accel_driver (the host driver and
# golden tap checker, tb/top/accel_driver.h) shared with `tokenpipe generate
# --engine rtl`.
tokenpipe_rtl_test(MODULE tp_accel_top SOURCES top/tp_accel_top_test.cpp
  DEPS tp_fifo tp_host_csr tp_kv_page_manager tp_sequencer tp_ram tp_weight_port tp_embedding
       tp_rsqrt tp_quant_divider tp_act_quant tp_rmsnorm tp_rope tp_head_quant tp_exp2 tp_reciprocal
       tp_kv_slot_bytes tp_kv_port tp_attention_engine tp_attention_unit tp_pe_column tp_block_scaler tp_matrix_engine
       tp_matrix_unit tp_residual_add tp_silu tp_argmax tp_delay_line tp_stream_register
       tp_token_pipeline)
if(TARGET tp_accel_top_rtl)
  add_library(tp_accel_driver STATIC top/accel_driver.cpp)
  target_link_libraries(tp_accel_driver PUBLIC tp_accel_top_rtl tb_harness golden)
  target_link_libraries(tp_accel_top_test PRIVATE tp_accel_driver)
  # The real-model tests read ../shared/models (golden/tests/real_models.h).
  target_compile_definitions(tp_accel_top_test PRIVATE TOKENPIPE_MODELS_DIR="${TOKENPIPE_MODELS_DIR}")
endif()
