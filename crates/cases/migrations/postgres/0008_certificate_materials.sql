-- A material an e-certificate stood for (免提交): the certificate's number. Its file is the
-- certificate's PDF, made when the case was submitted.
ALTER TABLE case_materials ADD COLUMN certificate TEXT;
