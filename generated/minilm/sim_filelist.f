rtl/minilm_controller.v
rtl/minilm_exp2.v
rtl/minilm_recip.v
rtl/minilm_engine.v
rtl/minilm_buffer.v
rtl/minilm_top.v
sim/minilm_xbar_model.v
sim/minilm_tb_harness.v
