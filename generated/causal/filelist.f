rtl/causal_controller.v
rtl/causal_exp2.v
rtl/causal_recip.v
rtl/causal_engine.v
rtl/causal_buffer.v
rtl/causal_top.v
