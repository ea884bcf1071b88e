"""pezo.sw.zo: zeroth-order training driven by the hardware's perturbation stream.

The names below are what ``pezo train`` offers; they are kept here, free of torch, so that the
command line can list them without importing torch.
"""

TASK_NAMES = ("digits", "digits-shift", "vit-shift", "diabetes")
OPTIMIZERS = ("fo-sgd", "fo-adam", "mezo", "pezo", "dizo", "pseuzo", "pseuzo-ema")
