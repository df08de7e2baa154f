"""Multi-stage jobs built only from the other rooms; each command that runs one is parse -> one call here.

* ``faceswap`` / ``faceswap_batch``: swap faces in videos and photos (``translate faceswap``);
* ``dance``: pose transfer on video (``translate dance``);
* ``pose_dataset``: a pose2frame dataset from a video (``translate poses extract``);
* ``pose_render``: stick figures from OpenPose keypoint files (``translate poses render``);
* ``hd_stages``: pix2pixHD's global -> local (-> face) training schedule (``translate train-hd``);
* ``registry``: what a pipeline is as data (``Pipeline``: the inputs it takes, the kind of model it
  runs, the function that runs it) and the registry each one joins with a declaration at the end of
  its module; ``translate serve`` makes a tab of every registered pipeline, so a new one is one file.
"""
