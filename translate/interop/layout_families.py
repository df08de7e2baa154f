"""Every layout family stated outside ``layouts``, one module per published code base.

``LAYOUT_FAMILIES`` imports this module on its first lookup (its ``discover`` names one
module), so a new code base's family is its module plus one line here.
"""
from translate.interop import layouts_cut, layouts_pix2pixhd

__all__ = ["layouts_cut", "layouts_pix2pixhd"]
