"""CAM-NAS for segmentation: do explanation-matching searches find better students?"""
