"""Stage: behavioral (see README)."""
from devicelab.behavioral.adc import ADCModel, from_characterization, ideal_adc, load_adc_model, quantize_dac  # noqa: E402,F401
from devicelab.behavioral.adc import save_adc_model  # noqa: E402,F401
