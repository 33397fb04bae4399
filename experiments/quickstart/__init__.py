"""The quickstart: dataset, teacher U-Net, evaluation, explanations, report."""
