// tokenpipe RTL source list: the one list read by Verilator (lint, testbenches),
// Yosys (scripts/synth.sh) and Vivado. Paths are relative to the repository root.
// The package comes first; then one module per file, file named after the module.
rtl/tp_pkg.sv
rtl/common/tp_stream_checker.sv
rtl/common/tp_stream_register.sv
rtl/common/tp_delay_line.sv
rtl/common/tp_fifo.sv
rtl/units/tp_rsqrt.sv
rtl/units/tp_act_quant.sv
rtl/units/tp_rmsnorm.sv
rtl/units/tp_silu.sv
rtl/units/tp_residual_add.sv
rtl/units/tp_exp2.sv
rtl/units/tp_online_softmax.sv
rtl/units/tp_rope.sv
rtl/units/tp_cordic_sqrt.sv
rtl/units/tp_reciprocal.sv
rtl/matrix/tp_weight_port.sv
rtl/matrix/tp_pe_column.sv
rtl/matrix/tp_block_scaler.sv
rtl/matrix/tp_matrix_engine.sv
rtl/matrix/tp_matrix_unit.sv
rtl/attention/tp_kv_page_manager.sv
rtl/attention/tp_kv_slot_bytes.sv
rtl/attention/tp_kv_port.sv
rtl/attention/tp_attention_engine.sv
rtl/attention/tp_attention_unit.sv
rtl/units/tp_argmax.sv
rtl/matrix/tp_embedding.sv
rtl/units/tp_quant_divider.sv
rtl/units/tp_head_quant.sv
rtl/top/tp_host_csr.sv
rtl/common/tp_ram.sv
rtl/top/tp_token_pipeline.sv
rtl/top/tp_sequencer.sv
rtl/top/tp_accel_top.sv
